"""Cross-region replication lag of the local object storage, and how fast a backlog drains.
Prints JSON.

Normal lag: objects written one at a time to the primary region, each timed until a HEAD in
the DR region finds it (polled every 10 ms). Backlog: replication cut at the network while
objects are written, then restored; the time until every one of them is in the DR region.

Usage: .venv/bin/python benchmarks/crr_lag.py [--objects N] [--backlog N]
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from botocore.exceptions import ClientError  # noqa: E402

from drillbook.stack import LocalSettings, LocalStack  # noqa: E402
from drillbook.stack.objectstore import EXPORTS_BUCKET, REPLICATION_PROXY  # noqa: E402

POLL_S = 0.01
TIMEOUT_S = 300.0


def in_dr(dr, key: str) -> bool:
    try:
        dr.head_object(Bucket=EXPORTS_BUCKET, Key=key)
    except ClientError:
        return False
    return True


def wait_all(dr, keys: list[str]) -> float:
    """Seconds until every key is in the DR region."""
    started = time.monotonic()
    waiting = list(keys)
    while waiting:
        if time.monotonic() - started > TIMEOUT_S:
            raise TimeoutError(f"{len(waiting)} objects not replicated after {TIMEOUT_S:g} s")
        waiting = [key for key in waiting if not in_dr(dr, key)]
        time.sleep(POLL_S)
    return time.monotonic() - started


def normal_lag(stack: LocalStack, objects: int) -> list[float]:
    primary, dr = stack.storage.primary.client(), stack.storage.dr.client()
    lags = []
    for n in range(objects):
        key = f"bench/normal/{n:05d}"
        primary.put_object(Bucket=EXPORTS_BUCKET, Key=key, Body=b"x" * 1024)
        lags.append(wait_all(dr, [key]))
    return lags


def backlog_drain(stack: LocalStack, objects: int) -> float:
    primary, dr = stack.storage.primary.client(), stack.storage.dr.client()
    keys = [f"bench/backlog/{n:05d}" for n in range(objects)]
    stack.toxiproxy.update_proxy(REPLICATION_PROXY, enabled=False)
    try:
        for key in keys:
            primary.put_object(Bucket=EXPORTS_BUCKET, Key=key, Body=b"x" * 1024)
    finally:
        stack.toxiproxy.update_proxy(REPLICATION_PROXY, enabled=True)
    return wait_all(dr, keys)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--objects", type=int, default=50)
    parser.add_argument("--backlog", type=int, default=100)
    args = parser.parse_args()
    run_dir = Path(tempfile.mkdtemp(prefix="drillbook-bench-"))
    run_dir.chmod(0o755)
    stack = LocalStack(LocalSettings(), run_dir, progress=lambda _line: None)
    try:
        stack.start()
        lags = sorted(normal_lag(stack, args.objects))
        drain = backlog_drain(stack, args.backlog)
    finally:
        stack.stop()
        shutil.rmtree(run_dir, ignore_errors=True)
    print(
        json.dumps(
            {
                "benchmark": "crr_lag",
                "poll_s": POLL_S,
                "normal_lag_s": {
                    "objects": len(lags),
                    "median": round(statistics.median(lags), 4),
                    "p95": round(lags[math.ceil(0.95 * len(lags)) - 1], 4),
                    "max": round(lags[-1], 4),
                },
                "backlog": {"objects": args.backlog, "drained_s": round(drain, 2)},
                "plan_limit_s": 60,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
