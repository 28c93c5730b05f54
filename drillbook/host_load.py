"""How busy the harness's own host was over an interval: the share of its CPU time not idle,
from /proc/stat. Probe latencies are timed on this host, so a window in which other work held
its CPUs is slower for the probes whatever the service did; a latency comparison states the
share of each window beside its figure, so that a reader can tell the two apart."""

from __future__ import annotations

from pathlib import Path

PROC_STAT = Path("/proc/stat")


def cpu_times(stat: Path = PROC_STAT) -> tuple[int, int] | None:
    """(busy, total) clock ticks of all CPUs since boot; None where there is no /proc/stat."""
    try:
        first = stat.read_text(encoding="ascii").splitlines()[0]
    except (OSError, IndexError):
        return None
    # user nice system idle iowait irq softirq steal; guest time is already in user
    ticks = [int(field) for field in first.split()[1:9]]
    idle = sum(ticks[3:5])
    return sum(ticks) - idle, sum(ticks)


def busy_share(before: tuple[int, int] | None, after: tuple[int, int] | None) -> float | None:
    """The share of CPU time busy between two readings of cpu_times; None without both, or
    when no tick passed between them."""
    if before is None or after is None or after[1] <= before[1]:
        return None
    return (after[0] - before[0]) / (after[1] - before[1])
