"""Redis hit rate from sampled INFO (RedisStatsSampler): back to the plan's 80% after a fault
(section 4.1, May), and the monitoring signal "hit rate below 20% or node unreachable"
(section 2).

`keyspace_hits` and `keyspace_misses` count key reads since the server started, so the reads of
an interval are the increase of the counters between two samples of one server run; a sample
of another run (a restart, or another node after a failover) starts counting again. Every key
read counts, the quota and budget counters' as well as the cache's, as in the plan's
monitoring. The rate at a sample is over the reads of the `window_s` up to it; with fewer than
`min_reads` reads there it is not known.
"""

from __future__ import annotations

from dataclasses import dataclass

from drillbook.checks.result import CheckResult, clock, number, percent
from drillbook.workload.history import History, Op

PREFIX = "redis-stats:"


@dataclass(frozen=True)
class HitRate:
    at: float
    reachable: bool
    rate: float | None  # None: unreachable, or too few reads in the window to tell
    reads: int

    def describe(self) -> str:
        if not self.reachable:
            return "node unreachable"
        if self.rate is None:
            return f"{self.reads} reads, too few to tell"
        return f"hit rate {percent(self.rate)} over {self.reads} reads"


def hit_rates(
    history: History, *, prefix: str = PREFIX, window_s: float = 1.0, min_reads: int = 20
) -> list[HitRate]:
    """One point per sample, in order: unreachable, or the hit rate over the window up to it."""
    increments: list[tuple[float, int, int]] = []  # (at, hits, misses) between two samples
    points = []
    previous: Op | None = None
    for op in history.ops(prefix=prefix):
        if op.outcome != "ok":
            points.append(HitRate(op.end, False, None, 0))
            continue
        if previous is not None and previous.value["run_id"] == op.value["run_id"]:
            hits = op.value["keyspace_hits"] - previous.value["keyspace_hits"]
            misses = op.value["keyspace_misses"] - previous.value["keyspace_misses"]
            increments.append((op.end, hits, misses))
        else:  # another server run: the old node's reads say nothing about this one's cache
            increments.clear()
        previous = op
        recent = [(h, m) for at, h, m in increments if op.end - window_s < at <= op.end]
        hits, reads = sum(h for h, _ in recent), sum(h + m for h, m in recent)
        points.append(HitRate(op.end, True, hits / reads if reads >= min_reads else None, reads))
    return points


def hit_rate_recovery(
    history: History,
    t0: float,
    threshold_s: float,
    *,
    target_pct: float = 80.0,
    prefix: str = PREFIX,
    window_s: float = 1.0,
    min_reads: int = 20,
) -> CheckResult:
    """Time from `t0` to the first sample from which the hit rate stayed at or above the target
    to the end: every later sample answered, and every one with enough reads met the target."""
    points = hit_rates(history, prefix=prefix, window_s=window_s, min_reads=min_reads)
    after = [p for p in points if p.at >= t0]
    target = target_pct / 100
    known = [p for p in after if not p.reachable or p.rate is not None]
    details: dict = {
        "t0": t0,
        "target_pct": target_pct,
        "window_s": window_s,
        "min_reads": min_reads,
        "samples_after_t0": len(after),
        "unreachable_samples": sum(not p.reachable for p in after),
        "lowest_rate": min((p.rate for p in known if p.rate is not None), default=None),
        "last": known[-1].describe() if known else None,
    }
    name = "hit rate back"
    good_from = len(known)
    while good_from > 0 and known[good_from - 1].reachable and known[good_from - 1].rate >= target:
        good_from -= 1
    if good_from == len(known):
        last = known[-1].describe() if known else f"no sample with {min_reads} reads after T0"
        return CheckResult(
            name,
            None,
            "s",
            threshold_s,
            False,
            f"hit rate not back to {number(target_pct)}% after T0: last {last}",
            details,
        )
    back = known[good_from]
    figure = max(0.0, back.at - t0)
    passed = figure <= threshold_s
    details["back_at"] = back.at
    explanation = (
        f"hit rate back to ≥{number(target_pct)}% {figure:.2f} s after T0 "
        f"{'≤' if passed else '>'} {number(threshold_s)} s: from {clock(back.at)} "
        f"({back.describe()}), and at or above it in all {len(known) - good_from} samples since"
    )
    return CheckResult(name, figure, "s", threshold_s, passed, explanation, details)


def signal_raised(
    history: History,
    start: float,
    end: float,
    within_s: float,
    *,
    below_pct: float = 20.0,
    prefix: str = PREFIX,
    window_s: float = 1.0,
    min_reads: int = 20,
) -> CheckResult:
    """Whether the plan's Redis signal, hit rate below `below_pct` or node unreachable, held at
    some sample in [start, end] no later than `within_s` after `start` (the time monitoring
    has to notice); the figure is when it first did, in seconds after `start`.
    The details list every span in which it held."""
    points = hit_rates(history, prefix=prefix, window_s=window_s, min_reads=min_reads)
    during = [p for p in points if start <= p.at <= end]
    held = [_holds(p, below_pct / 100) for p in during]
    spans: list[dict] = []
    for point, holds in zip(during, held, strict=True):
        if holds and spans and spans[-1]["open"]:
            spans[-1]["to"] = point.at
        elif holds:
            spans.append({"from": point.at, "to": point.at, "why": point.describe(), "open": True})
        elif spans:
            spans[-1]["open"] = False
    for span in spans:
        del span["open"]
    name = f"signal hit rate <{number(below_pct)}% or unreachable"
    window = end - start
    details = {"start": start, "end": end, "samples": len(during), "spans": spans}
    if not spans:
        return CheckResult(
            name,
            None,
            "s",
            within_s,
            False,
            f"{name}: never held in {len(during)} samples from {clock(start)} to {clock(end)}",
            details,
        )
    first = spans[0]
    figure = first["from"] - start
    passed = figure <= within_s
    explanation = (
        f"{name} raised {figure:.2f} s after T0 {'≤' if passed else '>'} {number(within_s)} s "
        f"({first['why']} at {clock(first['from'])}); held in {len(spans)} span(s) within the "
        f"{window:.2f} s observed"
    )
    return CheckResult(name, figure, "s", within_s, passed, explanation, details)


def _holds(point: HitRate, below: float) -> bool:
    return not point.reachable or (point.rate is not None and point.rate < below)
