"""How accurately the harness measures RTO: outages of known length against rto(). Prints JSON.

A Toxiproxy proxy in front of the reference service is disabled for 1, 3 and 10 s while HTTP
probes go through it; the measured RTO is compared with the outage the probes actually saw.

Usage: .venv/bin/python benchmarks/measurement_accuracy.py [--repeat N] [--interval-ms MS]
                                                           [--outages S [S ...]]
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from drillbook.checks import rto  # noqa: E402
from drillbook.stack import LocalSettings, LocalStack  # noqa: E402
from drillbook.stack.ports import free_port  # noqa: E402
from drillbook.toxiproxy import ToxiproxyClient  # noqa: E402
from drillbook.workload import History, HttpProbe, Workload  # noqa: E402

PROXY = "bench-service"
PROBES: list[tuple[str, dict[str, str]]] = [
    ("/lookup", {"word": "bench", "user": "bench"}),
    ("/history", {"user": "bench"}),
]
PROBE_TIMEOUT_S = 1.0
WARM_UP_S = 2.0
WARM_UP_TIMEOUT_S = 30.0
# From re-enabling to the first full rto() window after recovery: ~5 s at the defaults.
RECOVERY_TIMEOUT_S = 60.0
RTO_ARGS = {"threshold_s": 3600, "window_s": 1.0, "min_requests": 20}


def _await_clean_traffic(history: History) -> None:
    """Wait until the probes have seen WARM_UP_S of successes only, so T0 starts from health."""
    deadline = time.monotonic() + WARM_UP_TIMEOUT_S
    while time.monotonic() < deadline:
        ops = history.ops()
        failures = [op.end for op in ops if op.outcome != "ok"]
        if ops and ops[-1].outcome == "ok":
            clean_since = max(failures, default=ops[0].start)
            if time.time() - clean_since >= WARM_UP_S:
                return
        time.sleep(0.1)
    raise TimeoutError(
        f"probes did not see {WARM_UP_S} s of clean traffic in {WARM_UP_TIMEOUT_S} s"
    )


def _sleep_until(deadline: float) -> None:
    while (left := deadline - time.monotonic()) > 0:
        time.sleep(left)


def _await_recovery(history: History, t0: float) -> None:
    """Keep probing until rto() has a full window after recovery, bounded by a deadline."""
    deadline = time.monotonic() + RECOVERY_TIMEOUT_S
    while time.monotonic() < deadline and rto(history, t0, **RTO_ARGS).figure is None:
        time.sleep(0.25)


def one_outage(
    toxiproxy: ToxiproxyClient, base_url: str, interval_s: float, outage_s: float
) -> tuple[dict[str, float | None], int, float]:
    """One outage on a fresh history; returns the run, the probes sent and the probing time."""
    history = History()
    workload = Workload(history)
    for path, params in PROBES:
        workload.add(
            HttpProbe(
                history,
                base_url,
                path,
                interval_s=interval_s,
                timeout_s=PROBE_TIMEOUT_S,
                params=params,
            )
        )
    started = time.monotonic()
    workload.start()
    try:
        _await_clean_traffic(history)
        # A real fault is not in step with the probes; without this T0 would fall at one fixed
        # phase of their schedule (the warm-up poll ticks with it) and bias the error.
        time.sleep(random.uniform(0, interval_s))
        t0 = time.time()
        called = time.monotonic()
        # Disabling closes the listener and cuts open connections: probes fail fast with
        # "connection refused", so the outage starts within this call.
        toxiproxy.update_proxy(PROXY, enabled=False)
        disabled = time.monotonic()
        _sleep_until(disabled + outage_s)
        enabling = time.monotonic()
        toxiproxy.update_proxy(PROXY, enabled=True)
        back = time.time()
        enabled = time.monotonic()
        _await_recovery(history, t0)
    finally:
        workload.stop()
    probing_s = time.monotonic() - started
    # None if the deadline passed first: an unmeasured run then fails the target.
    measured = rto(history, t0, **RTO_ARGS).figure
    ground_truth = back - t0
    run = {
        "outage_s": outage_s,
        "ground_truth_s": ground_truth,
        "measured_rto_s": measured,
        "error_s": None if measured is None else measured - ground_truth,
        # The ground truth is only exact to within these two calls.
        "disable_call_s": disabled - called,
        "enable_call_s": enabled - enabling,
    }
    return run, len(history), probing_s


def measure(outages: list[float], repeat: int, interval_s: float) -> dict:
    run_dir = Path(tempfile.mkdtemp(prefix="drillbook-bench-"))
    run_dir.chmod(0o755)
    stack = LocalStack(LocalSettings(), run_dir, progress=lambda line: print(line, file=sys.stderr))
    runs: list[dict[str, float | None]] = []
    sent, probing_s = 0, 0.0
    try:
        stack.start()
        listen = f"127.0.0.1:{free_port()}"
        stack.toxiproxy.create_proxy(PROXY, listen, f"127.0.0.1:{stack.service.port}")
        # CPU of this process only (probe threads and checks): the stack runs in children.
        cpu_started, wall_started = time.process_time(), time.monotonic()
        for outage_s in outages:
            for _ in range(repeat):
                run, ops, seconds = one_outage(
                    stack.toxiproxy, f"http://{listen}", interval_s, outage_s
                )
                runs.append(run)
                sent += ops
                probing_s += seconds
                print(f"outage {outage_s} s: {run}", file=sys.stderr)
        cpu_s, wall_s = time.process_time() - cpu_started, time.monotonic() - wall_started
    finally:
        stack.stop()
        shutil.rmtree(run_dir, ignore_errors=True)
    errors = [r["error_s"] for r in runs if r["error_s"] is not None]
    abs_errors = [abs(e) for e in errors]
    target = {"median_abs_max_s": interval_s, "max_abs_max_s": 2 * interval_s}
    all_measured = len(errors) == len(runs)
    return {
        "benchmark": "measurement_accuracy",
        "probe_interval_s": interval_s,
        "runs": runs,
        "error_s": {
            "median": statistics.median(errors) if errors else None,
            "max": max(errors, default=None),
            "median_abs": statistics.median(abs_errors) if errors else None,
            "max_abs": max(abs_errors, default=None),
        },
        "target": target,
        "met": all_measured
        and statistics.median(abs_errors) <= target["median_abs_max_s"]
        and max(abs_errors) <= target["max_abs_max_s"],
        "probes": {
            "configured_rps": len(PROBES) / interval_s,
            "sustained_rps": sent / probing_s,
        },
        "cpu_percent_of_one_core": 100 * cpu_s / wall_s,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--interval-ms", type=float, default=100.0)
    parser.add_argument("--outages", type=float, nargs="+", default=[1.0, 3.0, 10.0])
    args = parser.parse_args()
    print(json.dumps(measure(args.outages, args.repeat, args.interval_ms / 1000), indent=2))


if __name__ == "__main__":
    main()
