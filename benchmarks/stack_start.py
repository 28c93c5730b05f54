"""How long the embedded local environment takes to start and stop. Prints JSON.

Usage: .venv/bin/python benchmarks/stack_start.py [--runs N]
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

from drillbook.stack import LocalSettings, LocalStack  # noqa: E402


def one_run() -> dict[str, float]:
    run_dir = Path(tempfile.mkdtemp(prefix="drillbook-bench-"))
    run_dir.chmod(0o755)
    stack = LocalStack(LocalSettings(), run_dir, progress=lambda _line: None)
    started = time.monotonic()
    try:
        stack.start()
        up = time.monotonic() - started
    finally:
        stopping = time.monotonic()
        stack.stop()
        down = time.monotonic() - stopping
        shutil.rmtree(run_dir, ignore_errors=True)
    return {"start_s": up, "stop_s": down}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    runs = [one_run() for _ in range(parser.parse_args().runs)]
    starts = [r["start_s"] for r in runs]
    print(
        json.dumps(
            {
                "benchmark": "stack_start",
                "runs": len(runs),
                "start_s": {
                    "median": statistics.median(starts),
                    "max": max(starts),
                    "min": min(starts),
                },
                "stop_s": {"median": statistics.median(r["stop_s"] for r in runs)},
                "per_run": runs,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
