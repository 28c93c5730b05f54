"""Degradation: while a dependency is down, every answer should be the degraded payload.

The plan's January drill: with Doubao down, 100% of lookups answer "basic definition +
template example" — a 200 marked degraded, never a 5xx. The probe keeps the `degraded` flag of
each answer as its operation's value.
"""

from __future__ import annotations

from drillbook.checks.result import CheckResult, not_measured, number
from drillbook.checks.sla import describe_window, window_ops
from drillbook.workload import History, Op, answer_flag


def degraded_answers(
    history: History, prefix: str, start: float, end: float, threshold_pct: float = 100.0
) -> CheckResult:
    """Percent of the `prefix` requests begun and answered within [start, end] that were
    answered 2xx and degraded. A request still in flight at `end`, when the dependency came
    back, may rightly have had the full answer, so it is not one of the fault's; a failure
    is still the SLA's and the failed-requests check's to count."""
    ops = begun_and_answered(history, prefix, start, end)
    where = f"{prefix} {describe_window(start, end)}"
    if not ops:
        why = f"no request of {prefix}* was begun and answered {describe_window(start, end)}"
        return not_measured("degraded answers", "%", threshold_pct, why, {"requests": 0})
    degraded = [op for op in ops if op.outcome == "ok" and answer_flag(op, "degraded") is True]
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


def begun_and_answered(history: History, prefix: str, start: float, end: float) -> list[Op]:
    """The `prefix` requests begun and answered within [start, end]: the fault's own."""
    return [op for op in window_ops(history, prefix, start, end) if op.end <= end]


def degraded_payload_problem(op: Op) -> str | None:
    """What a lookup answered during the fault lacked of the plan's degraded payload (基础释义 +
    模板例句): a 2xx, marked degraded, with a definition and an example, none generated."""
    if op.outcome != "ok":
        return unanswered(op)
    if answer_flag(op, "degraded") is not True:
        return "a full answer, not the degraded payload"
    if missing := lacks(op):
        return f"degraded without {missing}"
    if answer_flag(op, "ai_example"):
        return "degraded, yet with a generated example"
    return None


def answer_problem(op: Op) -> str | None:
    """What a lookup lacked of an answer a user can use, degraded or not: a 2xx with a
    definition and an example (a release that renames `definition` breaks exactly that)."""
    if op.outcome != "ok":
        return unanswered(op)
    return f"answered without {missing}" if (missing := lacks(op)) else None


def unanswered(op: Op) -> str:
    """What a lookup that got no answer got instead."""
    return f"not answered: {op.outcome} {op.status or ''} {op.error or ''}".strip()


def lacks(op: Op) -> str | None:
    """Which of a definition and an example the answer `op` recorded did not carry."""
    missing = [
        phrase
        for part, phrase in (("definition", "a definition"), ("example", "an example"))
        if answer_flag(op, part) is not True
    ]
    return " or ".join(missing) or None


def full_answers_from(history: History, prefix: str, region: str, start: float) -> CheckResult:
    """Runbook 5.2 step 4, the LLM adapter verified from `region`: every answer of the
    `prefix` requests invoked from `start` that the region gave was the full payload, with
    the LLM's example; failures are the SLA's and the RTO's to judge, not this check's."""
    ops = window_ops(history, prefix, start)
    answered = [op for op in ops if op.outcome == "ok" and answer_flag(op, "region") == region]
    name = f"LLM answers from {region}"
    if not answered:
        seen = sorted({r for op in ops if (r := answer_flag(op, "region"))})
        why = (
            f"no request of {prefix}* invoked {describe_window(start, None)} was answered by "
            f"{region} (answered by: {', '.join(seen) or 'no region said'})"
        )
        return not_measured(name, "%", 100.0, why, {"requests": len(ops)})
    degraded = [op for op in answered if not _full(op)]
    figure = 100.0 * (len(answered) - len(degraded)) / len(answered)
    passed = not degraded
    details = {
        "answered": len(answered),
        "degraded": len(degraded),
        "first_degraded": [
            {"at": op.start, "reason": op.value.get("reason")} for op in degraded[:10]
        ],
    }
    explanation = (
        f"{len(answered) - len(degraded)} of the {len(answered)} answers {region} gave to "
        f"{prefix}* {describe_window(start, None)} carried the LLM's example"
        + (
            ""
            if passed
            else f"; {len(degraded)} were degraded, e.g. {details['first_degraded'][0]}"
        )
    )
    return CheckResult(name, figure, "%", 100.0, passed, explanation, details)


def answered_in_full_by(op: Op, region: str) -> bool:
    """A lookup the region answered with the LLM's example."""
    return op.outcome == "ok" and answer_flag(op, "region") == region and _full(op)


def _full(op: Op) -> bool:
    return answer_flag(op, "degraded") is False
