"""Cross-region replication (CRR) of object storage, from the canary samples in the history
(drillbook.workload.canary): the alert signal of seed section 2 (CRR lag > 60 s) and the
drain of the backlog once replication is restored."""

from __future__ import annotations

from drillbook.checks.result import CheckResult, clock, number
from drillbook.checks.sla import describe_window
from drillbook.workload.history import History, Op


def crr_samples(
    history: History, bucket: str, start: float | None = None, end: float | None = None
) -> list[Op]:
    """The canary samples of `bucket` that measured a lag, ended in [start, end]."""
    return [
        op
        for op in history.ops(f"crr:{bucket}")
        if isinstance(op.value, dict)
        and op.value.get("lag_s") is not None
        and (start is None or op.end >= start)
        and (end is None or op.end <= end)
    ]


def crr_alert_raised(
    history: History, bucket: str, threshold_s: float, window: tuple[float, float]
) -> CheckResult:
    """The lag alert held during `window` (the fault): some sample's lag above `threshold_s`.

    A drill that blocks replication must see its monitoring signal fire; a lag that never
    crossed means the fault did not bite or the canaries were not measuring.
    """
    name = "CRR lag alert"
    samples = crr_samples(history, bucket, *window)
    span = describe_window(*window)
    if not samples:
        return _unmeasured(name, threshold_s, f"no CRR lag sample of {bucket} {span}")
    highest = max(samples, key=lambda op: op.value["lag_s"])
    figure = highest.value["lag_s"]
    details = {"samples": len(samples), "window": list(window), "highest_at": highest.end}
    fired = next((op for op in samples if op.value["lag_s"] > threshold_s), None)
    if fired is None:
        explanation = (
            f"{name} never raised {span}: the highest CRR lag was {figure:.1f} s, not above "
            f"{number(threshold_s)} s, over {len(samples)} samples"
        )
        return CheckResult(name, figure, "s", threshold_s, False, explanation, details)
    details["raised_at"] = fired.end
    explanation = (
        f"{name} raised at {clock(fired.end)}, {fired.end - window[0]:.1f} s after the fault: "
        f"CRR lag {fired.value['lag_s']:.1f} s > {number(threshold_s)} s "
        f"({fired.value['pending']} objects waiting); the highest was {figure:.1f} s"
    )
    return CheckResult(name, figure, "s", threshold_s, True, explanation, details)


def crr_drained(history: History, bucket: str, since: float, limit_s: float) -> CheckResult:
    """Time from `since` (replication restored) to the first sample with no canary waiting,
    against `limit_s`."""
    name = "CRR backlog drained"
    drained = next(
        (op for op in crr_samples(history, bucket, start=since) if op.value["pending"] == 0),
        None,
    )
    if drained is None:
        return _unmeasured(
            name, limit_s, f"{name}: canaries of {bucket} still waiting at the last sample"
        )
    figure = drained.end - since
    passed = figure <= limit_s
    explanation = (
        f"{name} {figure:.1f} s {'≤' if passed else '>'} {number(limit_s)} s after replication "
        f"was restored, at {clock(drained.end)}"
    )
    return CheckResult(name, figure, "s", limit_s, passed, explanation, {"drained_at": drained.end})


def crr_lag_now(history: History, bucket: str, limit_s: float) -> CheckResult:
    """The CRR lag at the last sample against `limit_s`."""
    name = "CRR lag"
    samples = crr_samples(history, bucket)
    if not samples:
        return _unmeasured(name, limit_s, f"{name}: no sample of {bucket}")
    last = samples[-1]
    figure, pending = last.value["lag_s"], last.value["pending"]
    passed = figure <= limit_s
    explanation = (
        f"{name} {figure:.2f} s {'≤' if passed else '>'} {number(limit_s)} s at "
        f"{clock(last.end)} ({pending} objects waiting)"
    )
    return CheckResult(name, figure, "s", limit_s, passed, explanation, {"pending": pending})


def _unmeasured(name: str, threshold: float, explanation: str) -> CheckResult:
    return CheckResult(name, None, "s", threshold, False, explanation, {})
