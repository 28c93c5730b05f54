"""RTO: how long after the fault the probes were back to the target success ratio, for good."""

from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import accumulate

from drillbook.checks.result import CheckResult, clock, not_measured, number, percent
from drillbook.workload.history import History, Op

# The plan's recovery criterion (section 7): the key endpoints back at 99% success.
TARGET_RATIO = 0.99


@dataclass(frozen=True)
class _Recovery:
    recovered_at: float | None  # None: not (yet) recovered
    last_ratio: float | None  # success ratio of the last full window, None if there was none
    observed_s: float  # from T0 to the end of the last probe
    clean_tail_s: float  # from the first success after the last failure to the end


def rto(
    history: History,
    t0: float,
    threshold_s: float,
    *,
    processes_prefix: str = "probe:",
    window_s: float = 1.0,
    min_requests: int = 20,
    target_ratio: float = TARGET_RATIO,
    until: float | None = None,
) -> CheckResult:
    """Time from `t0` until the probes' success ratio reached `target_ratio` and stayed there
    (up to `until`, when given: the probes invoked from then on belong to another outage).

    A window starts at a probe invoked after `t0` and spans at least `window_s` and at least
    `window_ops` probes, where `window_ops` is `min_requests` or, if larger, the number of probes
    a ratio needs to express `target_ratio` (100 for 99%): a single stray failure among 100 is
    within 99%, among 20 it would not be. Recovery is the first success from which every full
    window to the end of the history meets the target; if fewer than one full window was
    observed from there, the service is not (yet) known to be recovered. Timeouts ("info")
    count as unsuccessful. As a window may hold one tolerated failure, the recovery found over
    pooled processes can precede the last failure of one of them by up to one probe interval.
    """
    window_ops = _window_ops(min_requests, target_ratio)
    ops = [
        op
        for op in history.ops(prefix=processes_prefix)
        if op.start >= t0 and (until is None or op.start < until)
    ]
    window = f"windows of ≥{number(window_s)} s and ≥{window_ops} probes"
    details: dict = {
        "t0": t0,
        "until": until,
        "window_s": window_s,
        "window_ops": window_ops,
        "target_ratio": target_ratio,
        "probes": len(ops),
        "unsuccessful": sum(op.outcome != "ok" for op in ops),
    }
    if not ops:
        why = f"no probe operation ({processes_prefix}*) was recorded after T0"
        return not_measured("RTO", "s", threshold_s, why, details)
    first_failure = next((op for op in ops if op.outcome != "ok"), None)
    details["first_failure_at"] = first_failure.start if first_failure else None
    details["time_to_detect_s"] = first_failure.start - t0 if first_failure else None
    details["per_process"] = {
        process: _rto_of(_recovery(group, t0, window_s, window_ops, target_ratio), t0)
        for process, group in _by_process(ops).items()
    }
    found = _recovery(ops, t0, window_s, window_ops, target_ratio)
    details["recovered_at"] = found.recovered_at
    details["last_window_ratio"] = found.last_ratio
    target = f"≥{percent(target_ratio)}"
    if found.recovered_at is None:
        explanation = _not_recovered(found, target, window)
        return CheckResult(
            "RTO", None, "s", threshold_s, False, explanation, details, note="not recovered"
        )
    if first_failure is None:
        # Nothing to recover from: a figure of 0 s would read as a measured recovery.
        details["recovered_at"] = None
        explanation = (
            f"no outage observed: every one of the {len(ops)} probes after T0 succeeded, and "
            f"they stayed {target} over {window}"
        )
        return CheckResult(
            "RTO", None, "s", threshold_s, True, explanation, details, note="no outage observed"
        )
    figure = found.recovered_at - t0
    passed = figure <= threshold_s
    explanation = (
        f"RTO {figure:.2f} s {'≤' if passed else '>'} {number(threshold_s)} s: probes back to "
        f"{target} success over {window} from {clock(found.recovered_at)}"
    )
    return CheckResult("RTO", figure, "s", threshold_s, passed, explanation, details)


def _not_recovered(found: _Recovery, target: str, window: str) -> str:
    if found.last_ratio is None:
        return (
            f"not recovered: only {found.observed_s:.2f} s of probes after T0, "
            f"short of one of the {window}"
        )
    tail = f", then {found.clean_tail_s:.2f} s without failure" if found.clean_tail_s else ""
    return (
        f"not recovered: success never stayed {target} after T0 "
        f"(last full window {percent(found.last_ratio)}{tail}, short of one window)"
    )


def _window_ops(min_requests: int, target_ratio: float) -> int:
    if target_ratio >= 1:
        return max(1, min_requests)
    resolution = math.ceil(1 / (1 - target_ratio) - 1e-9)
    return max(1, min_requests, resolution)


def _by_process(ops: list[Op]) -> dict[str, list[Op]]:
    groups: dict[str, list[Op]] = {}
    for op in ops:
        groups.setdefault(op.process, []).append(op)
    return groups


def _rto_of(found: _Recovery, t0: float) -> float | None:
    return None if found.recovered_at is None else found.recovered_at - t0


def _recovery(
    ops: list[Op], t0: float, window_s: float, window_ops: int, target_ratio: float
) -> _Recovery:
    """One pass over `ops` (sorted by start) with two pointers and a prefix sum of successes."""
    starts = [op.start for op in ops]
    ok = [op.outcome == "ok" for op in ops]
    successes = list(accumulate(ok, initial=0))
    observed_until = max(op.end for op in ops)
    n = len(ops)
    last_bad = -1
    last_ratio = None
    end_by_time = 0
    full_windows = 0
    for i in range(n):
        if starts[i] + window_s > observed_until or i + window_ops > n:
            break  # this window is not fully observed, nor is any later one
        while end_by_time < n and starts[end_by_time] < starts[i] + window_s:
            end_by_time += 1
        end = max(end_by_time, i + window_ops)
        good = successes[end] - successes[i]
        last_ratio = good / (end - i)
        if good < target_ratio * (end - i) - 1e-9:
            last_bad = i
        full_windows = i + 1
    observed_s = observed_until - t0
    first_good_window = last_bad + 1
    if first_good_window == 0 < full_windows:
        return _Recovery(t0, last_ratio, observed_s, observed_s)  # never below the target
    if first_good_window < full_windows:
        first_success = next((i for i in range(first_good_window, n) if ok[i]), first_good_window)
        recovered_at = starts[first_success]
        return _Recovery(recovered_at, last_ratio, observed_s, observed_until - recovered_at)
    last_failure = max((i for i in range(n) if not ok[i]), default=-1)
    clean_from = starts[last_failure + 1] if last_failure + 1 < n else observed_until
    return _Recovery(None, last_ratio, observed_s, observed_until - clean_from)


def outage_seen(history: History, t0: float, *, processes_prefix: str = "probe:") -> CheckResult:
    """Whether the probes saw the fault: at least one unsuccessful probe from T0 on. A drill
    whose fault must break the service, and whose probes never failed, probed the wrong path:
    its RTO would pass for nothing."""
    name = "outage seen by the probes"
    ops = [op for op in history.ops(prefix=processes_prefix) if op.start >= t0]
    if not ops:
        why = f"no probe operation ({processes_prefix}*) was recorded after T0"
        return not_measured(name, "probes", 1, why)
    failed = [op for op in ops if op.outcome != "ok"]
    details = {"t0": t0, "probes": len(ops), "unsuccessful": len(failed)}
    if not failed:
        explanation = (
            f"none of the {len(ops)} probes after T0 failed: the probes did not see the fault, "
            "so they do not measure the path it broke"
        )
        return CheckResult(name, 0, "probes", 1, False, explanation, details)
    details["first_failure_at"] = failed[0].start
    explanation = (
        f"{len(failed)} of {len(ops)} probes after T0 failed, the first at "
        f"{clock(failed[0].start)} ({failed[0].start - t0:.2f} s after T0)"
    )
    return CheckResult(name, len(failed), "probes", 1, True, explanation, details)
