"""The SLA over the window the plan defines, from T0, when the drill observed less of it.

The plan asks for SLA ≥ 99.0% during a cutover whose window is 45 minutes; a drill that
recovers in seconds ends long before the window does. The window's SLA is then the time the
probes saw the service unavailable, plus the unobserved rest of the window counted at the
success the probes saw after recovery, over the whole window. The recovery is the one after
the drill's last action (`settled_from`: a failback after the cutover is an outage of the
observed part, not a rate to extrapolate over the rest). So the error budget of 99% over
45 minutes is 27 s of unavailability, and a cutover that keeps clients failing longer (a slow
DNS TTL, a late promotion) fails it with the measured figure. A drill that did not recover
cannot say how the rest of the window went: not measured.

Unavailability is timed, not counted: a probe's outcome stands for the time until its next
probe (to the end of the observation for its last), so a probe blocked in a 2 s timeout
weighs 2 s, as the users behind it waited. The processes' times are averaged.
"""

from __future__ import annotations

from drillbook.checks.result import CheckResult, clock, not_measured, number, percent
from drillbook.checks.rto import rto
from drillbook.workload.history import History, Op

# The least observation after recovery that the unobserved rest of the window is counted
# from: with two probes every 100 ms, one stray failure in it counts for 0.5% of the rest,
# under the 1% a 99% SLA allows.
MIN_TAIL_S = 10.0


def sla_over_window(
    history: History,
    t0: float,
    window_s: float,
    threshold_pct: float,
    *,
    prefix: str = "probe:",
    rto_window_s: float = 1.0,
    min_requests: int = 20,
    settled_from: float | None = None,
) -> CheckResult:
    """SLA in percent of the `prefix` operations over [t0, t0 + window_s], recovery as the
    RTO check finds it in the same probes with the same windows (`rto_window_s`,
    `min_requests`), from `settled_from` (the drill's last action) when given, else T0."""
    end = t0 + window_s
    ops = [op for op in history.ops(prefix=prefix) if t0 <= op.start <= end]
    details: dict = {"t0": t0, "window_s": window_s, "operations": len(ops)}
    name = f"SLA over {number(window_s / 60)} min"
    if not ops:
        return not_measured(name, "%", threshold_pct, "no probe was invoked after T0", details)
    observed_to = min(end, max(op.end for op in ops))
    unavailable_s = unavailable_time(ops, t0, observed_to)
    rest_s = end - observed_to
    details |= {"observed_s": observed_to - t0, "unavailable_s": unavailable_s, "rest_s": rest_s}
    since = t0 if settled_from is None else max(t0, settled_from)
    recovery = rto(
        history,
        since,
        window_s,
        processes_prefix=prefix,
        window_s=rto_window_s,
        min_requests=min_requests,
    ).details
    # with no failure after T0 there is nothing to recover from: the whole observation counts
    tail_from = since if recovery["first_failure_at"] is None else recovery["recovered_at"]
    if rest_s > 0 and tail_from is None:
        why = (
            f"the probes did not recover in the {observed_to - t0:.1f} s observed of the "
            f"{number(window_s)} s window, so the rest of it cannot be counted"
        )
        return not_measured(name, "%", threshold_pct, why, details)
    tail_from = since if tail_from is None else tail_from
    tail_s = observed_to - tail_from
    if rest_s > 0 and tail_s < MIN_TAIL_S:
        why = (
            f"only {tail_s:.1f} s of probes after recovering at {clock(tail_from)}; the rest of "
            f"the window is counted at what they saw then, which takes at least "
            f"{number(MIN_TAIL_S)} s"
        )
        return not_measured(name, "%", threshold_pct, why, details)
    # only what was invoked from then: a failure just before it is the observed part's
    tail = [op for op in ops if op.start >= tail_from]
    tail_ratio = 1 - unavailable_time(tail, tail_from, observed_to) / tail_s if tail_s > 0 else 1.0
    ratio = 1 - (unavailable_s + (1 - tail_ratio) * rest_s) / window_s
    figure = ratio * 100
    passed = figure >= threshold_pct
    budget_s = (1 - threshold_pct / 100) * window_s
    details |= {"recovered_at": tail_from, "tail_ratio": tail_ratio, "error_budget_s": budget_s}
    rest = (
        f"; the {rest_s:.1f} s not observed counted at the {percent(tail_ratio)} the probes saw "
        f"from {clock(tail_from)}"
        if rest_s > 0
        else ""
    )
    explanation = (
        f"SLA {percent(ratio)} {'≥' if passed else '<'} {number(threshold_pct)}% over the "
        f"{number(window_s)} s from T0: {unavailable_s:.2f} s unavailable in the "
        f"{observed_to - t0:.1f} s observed{rest} (error budget {budget_s:.1f} s)"
    )
    return CheckResult(name, figure, "%", threshold_pct, passed, explanation, details)


def unavailable_time(ops: list[Op], start: float, end: float) -> float:
    """Seconds of [start, end] the processes of `ops` saw unavailable, averaged over them:
    each operation's outcome holds until the process's next operation."""
    by_process: dict[str, list[Op]] = {}
    for op in ops:
        by_process.setdefault(op.process, []).append(op)
    if not by_process or end <= start:
        return 0.0
    total = 0.0
    for group in by_process.values():
        nexts = [op.start for op in group[1:]] + [end]
        for op, until in zip(group, nexts, strict=True):
            if op.outcome != "ok":
                total += max(0.0, min(until, end) - max(op.start, start))
    return total / len(by_process)
