"""How fast the checks and the chart run on large histories. Prints JSON.

A long drill (2,000 s probed at 50 Hz: 100,050 probe operations, three quarters of the
plan's 45-minute cutover window) must be judged and drawn in well under a second each, or
the report waits on them. The backup matrix judges a full archive of seed 3.1's retention:
WAL archived every minute for 7 days (10,080 segments of 16 MB) and a base backup every 6 h
for 35 days (140 backups, two files each). Each figure is the median of `REPEATS` runs.

Usage: .venv/bin/python benchmarks/check_speed.py
"""

from __future__ import annotations

import json
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from drillbook.checks.backups import base_backups_kept, segments_per_log, wal_kept, wal_shipped
from drillbook.checks.rto import rto
from drillbook.evidence.chart import timeline_png
from drillbook.objects import Listed
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


def full_archive(per_log: int) -> list[Listed]:
    """Seed 3.1's retention, full: a segment a minute for 7 days, a base backup every 6 h for
    35 days, written up to T0."""
    listed = []
    for n in range(1, 7 * 24 * 60 + 1):
        name = f"00000001{n // per_log:08X}{n % per_log:08X}"
        listed.append(Listed(f"pg/{name}", T0 - (7 * 24 * 60 - n) * 60, 16 << 20, True))
    for k in range(35 * 4):
        at = T0 - k * 6 * 3600
        folder = time.strftime("%Y%m%d%H", time.gmtime(at))
        listed += [
            Listed(f"pg/{folder}/base.tar.gz", at, 1 << 30, True),
            Listed(f"pg/{folder}/backup_manifest", at, 1 << 20, True),
        ]
    return sorted(listed, key=lambda x: (x.written_at, x.deleted))


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
    per_log = segments_per_log(16 << 20)
    archive = full_archive(per_log)
    current = 7 * 24 * 60 + 1
    day = 86400.0
    print(
        json.dumps(
            {
                "archive_objects": len(archive),
                "wal_kept_median_s": round(
                    median_s(lambda: wal_kept(archive, "pg", per_log, T0, 7 * day)), 4
                ),
                "wal_shipped_median_s": round(
                    median_s(lambda: wal_shipped(archive, "pg", current, per_log, 60, T0, 60)), 4
                ),
                "base_backups_kept_median_s": round(
                    median_s(lambda: base_backups_kept(archive, "pg", T0, 35 * day, 6 * 3600)), 4
                ),
                "backup_checks_pass": all(
                    check.passed
                    for check in (
                        wal_kept(archive, "pg", per_log, T0, 7 * day),
                        wal_shipped(archive, "pg", current, per_log, 60, T0, 60),
                        base_backups_kept(archive, "pg", T0, 35 * day, 6 * 3600),
                    )
                ),
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
