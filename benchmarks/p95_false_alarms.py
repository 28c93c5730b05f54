"""How often the P95-against-baseline check fails a drill that changed nothing. Prints JSON.

The probes of the July drill (/lookup every 20 ms) run against the embedded environment with
no fault at all, for --seconds. The check (drillbook.checks.latency.p95_vs_baseline, 1.1 ×
baseline) is then applied to that one recording at every placement of each window layout,
3 s apart: any failure is a false alarm, and any 90% interval of the ratio that leaves out 1
misjudged the noise. The layouts: a baseline only before the drill's window (12 s and 12 s),
and July's windows taken in turn (a 3 s baseline, then four rounds of 3 s of drill and 3 s of
baseline).

Usage: .venv/bin/python benchmarks/p95_false_alarms.py [--seconds S]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from drillbook.checks import p95_vs_baseline  # noqa: E402
from drillbook.host_load import busy_share, cpu_times  # noqa: E402
from drillbook.stack import LocalSettings, LocalStack  # noqa: E402
from drillbook.workload import History, HttpProbe, Workload  # noqa: E402

PREFIX = "probe:/lookup"
INTERVAL_S = 0.02
# The first seconds of probing warm the service and the probe's connection up.
WARM_UP_S = 3.0
STEP_S = 3.0
MAX_PCT = 110.0
# (side, seconds) in order: "b" a baseline window, "d" a drill window
LAYOUTS = {
    "baseline before, 12 s + 12 s": [("b", 12.0), ("d", 12.0)],
    "in turn, 3 s windows (July)": [("b", 3.0)] + [("d", 3.0), ("b", 3.0)] * 4,
}


def record(seconds: float) -> tuple[History, float]:
    """The probes' history over `seconds` of a stack doing nothing else, and how busy the
    host was meanwhile."""
    run_dir = Path(tempfile.mkdtemp(prefix="drillbook-bench-"))
    run_dir.chmod(0o755)
    stack = LocalStack(LocalSettings(), run_dir, progress=lambda line: print(line, file=sys.stderr))
    history = History()
    try:
        stack.start()
        workload = Workload(history)
        workload.add(
            HttpProbe(
                history,
                stack.service.url,
                "/lookup",
                interval_s=INTERVAL_S,
                params={"word": "bench", "user": "bench"},
            )
        )
        ticks = cpu_times()
        workload.start()
        try:
            time.sleep(seconds)
        finally:
            workload.stop()
        busy = busy_share(ticks, cpu_times())
    finally:
        stack.stop()
        shutil.rmtree(run_dir, ignore_errors=True)
    return history, busy


def placements(layout: list[tuple[str, float]], start: float, end: float) -> list[dict]:
    """The layout's windows at every start from `start`, STEP_S apart, that ends by `end`."""
    length = sum(seconds for _, seconds in layout)
    found = []
    at = start
    while at + length <= end:
        windows: dict[str, list[tuple[float, float]]] = {"b": [], "d": []}
        t = at
        for side, seconds in layout:
            windows[side].append((t, t + seconds))
            t += seconds
        found.append(windows)
        at += STEP_S
    return found


def judge(history: History, layout: list[tuple[str, float]]) -> dict:
    ops = history.ops(prefix=PREFIX)
    start, end = ops[0].start + WARM_UP_S, ops[-1].start
    results = [
        p95_vs_baseline(history, PREFIX, windows["b"], windows["d"], MAX_PCT)
        for windows in placements(layout, start, end)
    ]
    ratios = [r.figure for r in results if r.figure is not None]
    intervals = [r.details["ratio_interval"] for r in results if "ratio_interval" in r.details]
    failed = sum(not r.passed for r in results)
    return {
        "placements": len(results),
        "false_alarms": failed,
        "false_alarm_rate": failed / len(results) if results else None,
        "interval_leaves_out_1": sum(not low <= 1.0 <= high for low, high in intervals),
        "ratio": {
            "min": min(ratios, default=None),
            "median": round(statistics.median(ratios), 3) if ratios else None,
            "max": max(ratios, default=None),
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=150.0)
    args = parser.parse_args()
    history, busy = record(args.seconds)
    print(
        json.dumps(
            {
                "benchmark": "p95_false_alarms",
                "probe_interval_s": INTERVAL_S,
                "seconds": args.seconds,
                "host_cpu_busy": busy,
                "threshold": MAX_PCT / 100,
                "layouts": {name: judge(history, layout) for name, layout in LAYOUTS.items()},
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
