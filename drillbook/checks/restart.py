"""A dependency killed and restarted: when it accepted commands again, and what it came back
with. Both read the operations of a client that kept sending commands (RedisWriter)."""

from __future__ import annotations

from drillbook.checks.result import CheckResult, clock, not_measured, number
from drillbook.workload.history import History


def accepting_again(
    history: History, t0: float, threshold_s: float, *, prefix: str = "redis:writer"
) -> CheckResult:
    """Time from `t0` to the first successful command invoked after the first unsuccessful one
    after `t0`: the outage as the client saw it, ended."""
    ops = [op for op in history.ops(prefix=prefix) if op.start >= t0]
    first_bad = next((i for i, op in enumerate(ops) if op.outcome != "ok"), None)
    name = "accepting commands again"
    details: dict = {"t0": t0, "commands": len(ops), "prefix": prefix}
    if first_bad is None:
        # A process that never stopped answering has no restart to time: 0 s would read as one.
        why = (
            f"none of the {len(ops)} commands after T0 failed, so nothing stopped accepting "
            "commands to start again"
            if ops
            else f"no {prefix}* command after T0"
        )
        return not_measured(name, "s", threshold_s, why, details)
    back = next((op for op in ops[first_bad:] if op.outcome == "ok"), None)
    details["first_failure_at"] = ops[first_bad].start
    details["failed_since"] = sum(op.outcome != "ok" for op in ops)
    if back is None:
        return CheckResult(
            name,
            None,
            "s",
            threshold_s,
            False,
            f"never accepted commands again: {details['failed_since']} commands unsuccessful "
            f"since {clock(ops[first_bad].start)} (last error: {ops[-1].error})",
            details,
            note="never accepted again",
        )
    figure = back.start - t0
    passed = figure <= threshold_s
    details["back_at"] = back.start
    explanation = (
        f"accepting commands again {figure:.2f} s after T0 {'≤' if passed else '>'} "
        f"{number(threshold_s)} s: first failure at {clock(ops[first_bad].start)}, "
        f"first success at {clock(back.start)}"
    )
    return CheckResult(name, figure, "s", threshold_s, passed, explanation, details)


def came_back_empty(
    history: History, t0: float, survivors: set[int], *, prefix: str = "redis:writer"
) -> CheckResult:
    """How many writes acknowledged before `t0` are still there: 0 after a rebuild from nothing."""
    acked = [op.value for op in history.ops(prefix=prefix) if op.outcome == "ok" and op.end < t0]
    kept = sorted(value for value in acked if value in survivors)
    name = "writes kept after the rebuild"
    details = {"acked_before_t0": len(acked), "kept": len(kept), "kept_ids": kept[:20]}
    if not acked:
        return not_measured(name, "writes", 0, "no write was acknowledged before T0", details)
    passed = not kept
    explanation = (
        f"{len(kept)} of {len(acked)} writes acknowledged before T0 still present "
        f"{'=' if passed else '>'} 0: the node came back "
        f"{'empty' if passed else 'with data it should have lost'}"
    )
    return CheckResult(name, len(kept), "writes", 0, passed, explanation, details)
