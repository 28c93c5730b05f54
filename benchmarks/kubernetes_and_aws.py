"""The embedded platform, timed: how long the Kubernetes control plane takes to be ready, how
long a cordon + scale-down of az-a takes to leave the traffic path and a rollout restart to
complete, what the probes saw meanwhile, and the RTO of an RDS cluster failover. Prints JSON.

Usage: .venv/bin/python benchmarks/kubernetes_and_aws.py [--runs N]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from drillbook.checks import rto, sla  # noqa: E402
from drillbook.environments.cluster_platform import ClusterPlatform  # noqa: E402
from drillbook.environments.local.cloud import LocalCloud  # noqa: E402
from drillbook.stack import LocalSettings, LocalStack  # noqa: E402
from drillbook.stack.kubernetes import KubeControlPlane  # noqa: E402
from drillbook.workload import History, HttpProbe, Workload  # noqa: E402


def control_plane_ready_s() -> float:
    run_dir = Path(tempfile.mkdtemp(prefix="drillbook-bench-"))
    kube = KubeControlPlane(
        root=run_dir / "kube",
        logs=run_dir / "logs",
        zones=["az-a", "az-b"],
        region="ap-southeast-1",
        ready_timeout_s=60,
        progress=lambda _line: None,
    )
    started = time.monotonic()
    try:
        kube.spawn()
        kube.wait_ready()
        return time.monotonic() - started
    finally:
        kube.stop()
        shutil.rmtree(run_dir, ignore_errors=True)


def probed(stack: LocalStack, action: Callable[[], object]) -> tuple[History, float, float]:
    """Run `action` under /lookup probes every 20 ms; the history, when it began and took."""
    history = History()
    workload = Workload(history)
    params = {"word": "bench", "user": "bench"}
    workload.add(HttpProbe(history, stack.service.url, "/lookup", 0.02, params=params))
    workload.start()
    try:
        time.sleep(1)
        started = time.time()
        action()
        took = time.time() - started
        time.sleep(1)
    finally:
        workload.stop()
    return history, started, took


def until(check: Callable[[], bool], timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() >= deadline:
            raise TimeoutError("not reached in time")
        time.sleep(0.02)


def drained_s(stack: LocalStack, platform: ClusterPlatform) -> dict[str, float]:
    """Cordon + scale-down of az-a to the router sending nothing there."""
    before = set(stack.service.router.backends)
    cordon = platform.cordon_zone("az-a")
    scale = platform.scale_zone("prod", "az-a", 0)

    def act() -> None:
        cordon.run()
        scale.run()
        until(lambda: len(set(stack.service.router.backends) & before) == 1)

    history, _started, took = probed(stack, act)
    scale.revert()
    cordon.revert()
    stack.service.wait_ready()
    return {"drained_s": took, "sla_pct": sla(history, 0).figure}


def restart_s(stack: LocalStack, platform: ClusterPlatform) -> dict[str, float]:
    history, _started, took = probed(stack, platform.restart("prod", "lookup-bff").run)
    stack.service.wait_ready()
    return {"restart_s": took, "sla_pct": sla(history, 0).figure}


def failover(stack: LocalStack) -> dict[str, float]:
    operation = LocalCloud(stack).fail_over("glancy-main")
    history, started, took = probed(stack, operation.run)
    operation.revert()
    return {"failover_s": took, "rto_s": rto(history, started, 1800).figure}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    runs = parser.parse_args().runs
    ready = [control_plane_ready_s() for _ in range(runs)]
    run_dir = Path(tempfile.mkdtemp(prefix="drillbook-bench-"))
    run_dir.chmod(0o755)
    stack = LocalStack(LocalSettings(), run_dir, progress=lambda _line: None)
    stack.start()
    try:
        platform = ClusterPlatform(lambda: stack.kube.cluster, 60)
        drains = [drained_s(stack, platform) for _ in range(runs)]
        restarts = [restart_s(stack, platform) for _ in range(runs)]
        failovers = [failover(stack) for _ in range(runs)]
    finally:
        stack.stop()
        shutil.rmtree(run_dir, ignore_errors=True)

    def summary(rows: list[dict[str, float]], key: str) -> dict[str, float]:
        values = [row[key] for row in rows]
        return {"median": statistics.median(values), "min": min(values), "max": max(values)}

    print(
        json.dumps(
            {
                "runs": runs,
                "control_plane_ready_s": summary([{"s": s} for s in ready], "s"),
                "cordon_and_scale_drained_s": summary(drains, "drained_s"),
                "cordon_and_scale_sla_pct": summary(drains, "sla_pct"),
                "rollout_restart_s": summary(restarts, "restart_s"),
                "rollout_restart_sla_pct": summary(restarts, "sla_pct"),
                "rds_failover_s": summary(failovers, "failover_s"),
                "rds_failover_rto_s": summary(failovers, "rto_s"),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
