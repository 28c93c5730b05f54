"""The Redis cache's hit rate, sampled by RedisStatsSampler: back to the plan's 80% after a
fault (section 4.1, May), and the monitoring signal "hit rate below 20% or node unreachable"
(section 2).

The rate is the cache's own, from the service's counts of its result-cache reads
(`cache_hits`, `cache_misses`): the quota and budget counters, which Redis also serves and
which hit even when the cache is cold, are not in it. Reads Redis did not answer are neither.
The counts grow from when the service's counters started (`cache_since`), so the reads of an
interval are the increase between two samples of one count run served by one Redis run
(`run_id`); a sample of another count run (a service replica restarted) or of another Redis
run (a restart, or another node after a failover) starts counting again, as does a count that
went down. The rate at a sample is over the reads of the `window_s` up to it; with fewer than
`min_reads` reads there it is not known. A sample the node did not answer is "unreachable".
"""

from __future__ import annotations

from dataclasses import dataclass

from drillbook.checks.result import CheckResult, clock, not_measured, number, percent
from drillbook.workload.history import History

PREFIX = "redis-stats:"
# The two halves of the signal.
UNREACHABLE, LOW = "node unreachable", "hit rate low"


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
    previous: dict | None = None  # the last sample with the service's counts
    for op in history.ops(prefix=prefix):
        if op.outcome != "ok":
            points.append(HitRate(op.end, False, None, 0))
            continue
        value = op.value
        if value["cache_hits"] is not None:  # else the service did not answer: no new reads
            hits = misses = -1
            if previous is not None and _same_runs(previous, value):
                hits = value["cache_hits"] - previous["cache_hits"]
                misses = value["cache_misses"] - previous["cache_misses"]
            if hits >= 0 and misses >= 0:
                increments.append((op.end, hits, misses))
            else:  # counted anew: the earlier reads say nothing about this cache now
                increments.clear()
            previous = value
        recent = [(h, m) for at, h, m in increments if op.end - window_s < at <= op.end]
        hits, reads = sum(h for h, _ in recent), sum(h + m for h, m in recent)
        points.append(HitRate(op.end, True, hits / reads if reads >= min_reads else None, reads))
    return points


def _same_runs(before: dict, after: dict) -> bool:
    """The same run of the service's counts, read from the same Redis run."""
    return before["cache_since"] == after["cache_since"] and before["run_id"] == after["run_id"]


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
    to the end: every later sample answered, and every one with enough reads met the target.

    Not measured without a sample after `t0` that tells (unreachable, or with enough reads),
    nor when every one of them answered at or above the target: a hit rate that never dropped
    has no return to time, and 0 s would read as one. Below the target or unreachable at the
    last sample is a measured failure, "not back"."""
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
    if not known:
        why = (
            f"none of the {len(after)} samples after T0 had {min_reads} reads in its "
            f"{number(window_s)} s window, and the node answered every one"
            if after
            else f"no sample of {prefix}* after T0"
        )
        return not_measured(name, "s", threshold_s, why, details)
    good_from = len(known)
    while good_from > 0 and known[good_from - 1].reachable and known[good_from - 1].rate >= target:
        good_from -= 1
    if good_from == 0:
        why = (
            f"the hit rate never dropped: the node answered all {len(known)} samples after T0 "
            f"that tell, each at or above {number(target_pct)}% (lowest "
            f"{percent(details['lowest_rate'])}), so there was no return to time"
        )
        return not_measured(name, "s", threshold_s, why, details)
    if good_from == len(known):
        explanation = (
            f"hit rate not back to {number(target_pct)}% after T0: last {known[-1].describe()} "
            f"at {clock(known[-1].at)}"
        )
        return CheckResult(
            name, None, "s", threshold_s, False, explanation, details, note="not back"
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
    The details list every span in which it held, a span per half of the signal ("node
    unreachable" or "hit rate low"), and the halves that held. Not measured without a sample
    in [start, end], or when the node answered every one without enough reads to tell the
    rate: the low half was then never known."""
    points = hit_rates(history, prefix=prefix, window_s=window_s, min_reads=min_reads)
    during = [p for p in points if start <= p.at <= end]
    spans: list[dict] = []
    last_half = None
    for point in during:
        half = _half(point, below_pct / 100)
        if half is not None and half == last_half:
            spans[-1]["to"] = point.at
        elif half is not None:
            spans.append({"from": point.at, "to": point.at, "half": half, "why": point.describe()})
        last_half = half
    halves = [h for h in (UNREACHABLE, LOW) if any(span["half"] == h for span in spans)]
    name = f"signal hit rate <{number(below_pct)}% or unreachable"
    window = end - start
    details = {"start": start, "end": end, "samples": len(during), "halves": halves, "spans": spans}
    if not spans:
        span = f"from {clock(start)} to {clock(end)}"
        if not during:
            return not_measured(name, "s", within_s, f"no sample of {prefix}* {span}", details)
        if all(point.rate is None for point in during):
            why = (
                f"the node answered all {len(during)} samples {span}, none with {min_reads} "
                f"reads in its {number(window_s)} s window: the hit rate was never known"
            )
            return not_measured(name, "s", within_s, why, details)
        explanation = f"{name}: never held in {len(during)} samples {span}"
        return CheckResult(
            name, None, "s", within_s, False, explanation, details, note="never raised"
        )
    first = spans[0]
    figure = first["from"] - start
    passed = figure <= within_s
    explanation = (
        f"{name} raised {figure:.2f} s after T0 {'≤' if passed else '>'} {number(within_s)} s "
        f"({first['why']} at {clock(first['from'])}); held in {len(spans)} span(s) "
        f"({' and '.join(halves)}) within the {window:.2f} s observed"
    )
    return CheckResult(name, figure, "s", within_s, passed, explanation, details)


def _half(point: HitRate, below: float) -> str | None:
    """The half of the signal that holds at `point`, if one does."""
    if not point.reachable:
        return UNREACHABLE
    if point.rate is not None and point.rate < below:
        return LOW
    return None
