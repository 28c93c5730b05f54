"""Degradation: while a dependency is down, every answer should be the degraded payload.

The plan's January drill: with Doubao down, 100% of lookups answer "basic definition +
template example" — a 200 marked degraded, never a 5xx. The probe keeps the `degraded` flag of
each answer as its operation's value.
"""

from __future__ import annotations

from drillbook.checks.result import CheckResult, not_measured, number
from drillbook.checks.sla import describe_window, window_ops
from drillbook.workload import History


def degraded_answers(
    history: History, prefix: str, start: float, end: float, threshold_pct: float = 100.0
) -> CheckResult:
    """Percent of the `prefix` requests invoked in [start, end] answered 2xx and degraded."""
    ops = window_ops(history, prefix, start, end)
    where = f"{prefix} {describe_window(start, end)}"
    if not ops:
        why = f"no request of {prefix}* was invoked {describe_window(start, end)}"
        return not_measured("degraded answers", "%", threshold_pct, why, {"requests": 0})
    degraded = [op for op in ops if op.outcome == "ok" and _degraded(op.value)]
    others = [op for op in ops if op not in degraded]
    figure = 100.0 * len(degraded) / len(ops)
    passed = figure >= threshold_pct
    verdict = "≥" if passed else "<"
    details = {
        "requests": len(ops),
        "degraded": len(degraded),
        "first_not_degraded": [
            {"at": op.start, "outcome": op.outcome, "status": op.status, "error": op.error}
            for op in others[:10]
        ],
    }
    explanation = (
        f"{len(degraded)} of {len(ops)} requests {where} answered with the degraded payload: "
        f"{figure:.4g}% {verdict} {number(threshold_pct)}%"
    )
    return CheckResult("degraded answers", figure, "%", threshold_pct, passed, explanation, details)


def _degraded(value: object) -> bool:
    return isinstance(value, dict) and value.get("degraded") is True
