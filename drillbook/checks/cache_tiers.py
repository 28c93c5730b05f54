"""Runbook 5.1 step 3's 强制 L2: once L2 is forced, no lookup is answered from a replica's own
L1 cache, so every cached answer is what Redis (L2) holds, after a failover the promoted node's
content. The probes keep each answer's `source` ("l1", "cache" for Redis, "db")."""

from __future__ import annotations

from drillbook.checks.result import CheckResult, not_measured
from drillbook.checks.sla import describe_window, window_ops
from drillbook.workload import History, answer_flag

L1 = "l1"


def l1_answers_after(history: History, prefix: str, forced_at: float) -> CheckResult:
    """How many `prefix` requests invoked from `forced_at` were answered from an L1; passes at
    0. An L1 that answered nothing before it was bypassed leaves nothing to measure (a service
    without one, or naming its tiers otherwise), which is "not measured"."""
    name = "lookups answered from L1 under forced L2"
    answered = [
        op
        for op in window_ops(history, prefix, forced_at)
        if op.outcome == "ok" and answer_flag(op, "source") is not None
    ]
    if not answered:
        span = describe_window(forced_at, None)
        why = f"no request of {prefix}* that says its source was answered {span}"
        return not_measured(name, "lookups", 0, why, {"answered": 0})
    before = sum(
        1
        for op in history.ops(prefix=prefix)
        if op.start < forced_at and answer_flag(op, "source") == L1
    )
    if not before:
        why = (
            f"no request of {prefix}* was answered from an L1 ({L1!r}) before L2 was forced: "
            "there was nothing to bypass"
        )
        return not_measured(name, "lookups", 0, why, {"answered": len(answered)})
    from_l1 = [op for op in answered if answer_flag(op, "source") == L1]
    details = {
        "answered": len(answered),
        "from_l1": len(from_l1),
        "from_l1_before": before,
        "first_from_l1": [op.start for op in from_l1[:10]],
    }
    where = f"{len(answered)} answers of {prefix}* {describe_window(forced_at, None)}"
    explanation = (
        f"{len(from_l1)} of the {where} came from a replica's L1 ({before} had before L2 was "
        "forced)"
    )
    return CheckResult(name, len(from_l1), "lookups", 0, not from_l1, explanation, details)
