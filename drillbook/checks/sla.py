"""SLA and error rate: the share of probe operations that succeeded within a time window.

An indeterminate ("info") operation, e.g. a timeout, did not give the user an answer: it counts
as unsuccessful, like a failure.
"""

from __future__ import annotations

from drillbook.checks.result import CheckResult, clock, not_measured, number, percent
from drillbook.workload.history import History, Op


def window_ops(
    history: History, prefix: str, start: float | None = None, end: float | None = None
) -> list[Op]:
    """Operations of the `prefix` processes invoked in [start, end] (open when None)."""
    return [
        op
        for op in history.ops(prefix=prefix)
        if (start is None or op.start >= start) and (end is None or op.start <= end)
    ]


def describe_window(start: float | None, end: float | None) -> str:
    if start is None and end is None:
        return "over the whole history"
    since = "the start" if start is None else clock(start)
    until = "the end" if end is None else clock(end)
    return f"from {since} to {until}"


def error_rate(
    history: History,
    *,
    start: float | None = None,
    end: float | None = None,
    prefix: str = "probe:",
) -> float | None:
    """Share (0..1) of the operations invoked in [start, end] that were not "ok"; None if none."""
    ops = window_ops(history, prefix, start, end)
    if not ops:
        return None
    return sum(op.outcome != "ok" for op in ops) / len(ops)


def sla(
    history: History,
    threshold_pct: float,
    *,
    start: float | None = None,
    end: float | None = None,
    prefix: str = "probe:",
) -> CheckResult:
    """Success ratio, in percent, of the `prefix` operations invoked in [start, end]."""
    ops = window_ops(history, prefix, start, end)
    window = describe_window(start, end)
    counts = {outcome: sum(op.outcome == outcome for op in ops) for outcome in ("ok", "fail")}
    details: dict = {
        "start": start,
        "end": end,
        "prefix": prefix,
        "operations": len(ops),
        "succeeded": counts["ok"],
        "failed": counts["fail"],
        "indeterminate": len(ops) - counts["ok"] - counts["fail"],
    }
    threshold = f"{number(threshold_pct)}%"
    if not ops:
        why = f"no operation of {prefix}* was invoked {window}"
        return not_measured("SLA", "%", threshold_pct, why, details)
    ratio = counts["ok"] / len(ops)
    figure = ratio * 100
    passed = figure >= threshold_pct
    explanation = (
        f"SLA {percent(ratio)} {'≥' if passed else '<'} {threshold}: {counts['ok']} of "
        f"{len(ops)} operations of {prefix}* succeeded {window} ({details['failed']} failed, "
        f"{details['indeterminate']} indeterminate)"
    )
    return CheckResult("SLA", figure, "%", threshold_pct, passed, explanation, details)
