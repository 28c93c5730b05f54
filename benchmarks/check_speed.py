"""How fast the checks and the chart run on large histories. Prints JSON.

A long drill (2,000 s probed at 50 Hz: 100,050 probe operations, three quarters of the
plan's 45-minute cutover window) must be judged and drawn in well under a second each, or
the report waits on them. Each figure is the median of `REPEATS` runs.

Usage: .venv/bin/python benchmarks/check_speed.py
"""

from __future__ import annotations

import json
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from drillbook.checks.rto import rto
from drillbook.evidence.chart import timeline_png
from drillbook.workload.history import History, Op

T0 = 1_715_500_000.0
REPEATS = 5


def probes(duration_s: float, rate_hz: float, down: list[tuple[float, float]]) -> History:
    """Probes from T0-1 s to T0+duration_s, failing inside the `down` spans."""
    history = History()
    for index in range(int((duration_s + 1) * rate_hz)):
        start = T0 - 1 + index / rate_hz
        outcome = "fail" if any(a <= start - T0 < b for a, b in down) else "ok"
        history.record(Op("probe:/lookup", "GET /lookup", start, start + 0.005, outcome))
    return history


def median_s(run: Callable[[], object]) -> float:
    timings = []
    for _ in range(REPEATS):
        began = time.perf_counter()
        run()
        timings.append(time.perf_counter() - began)
    return statistics.median(timings)


def main() -> None:
    long_drill = probes(2000, 50, [(0, 300), (900, 905)])
    result = rto(long_drill, T0, 1800)
    short_drill = probes(60, 100, [(0, 12)])
    with tempfile.TemporaryDirectory() as tmp:
        chart_s = median_s(
            lambda: timeline_png(
                short_drill, Path(tmp) / "t.png", t0=T0, recovered_at=T0 + 12.4, title="bench"
            )
        )
    print(
        json.dumps(
            {
                "rto_ops": len(long_drill),
                "rto_figure_s": result.figure,
                "rto_median_s": round(median_s(lambda: rto(long_drill, T0, 1800)), 4),
                "chart_ops": len(short_drill),
                "chart_median_s": round(chart_s, 4),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
