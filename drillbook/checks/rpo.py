"""RPO and lost writes: which acknowledged writes are missing after recovery; and the RPO as
the plan measures it, from the standby's replication lag when the fault struck.

An indeterminate ("info") write may or may not have been committed: it is never counted as
lost, and never as durable either.
"""

from __future__ import annotations

from drillbook.checks.result import CheckResult, clock, number
from drillbook.workload.history import History, Op


def rpo(
    history: History,
    t0: float,
    survivors: set[int],
    threshold_s: float,
    *,
    process_prefix: str = "writer",
    name: str = "RPO",
) -> CheckResult:
    """`t0` minus the recovery point: the acknowledgement time of the last write before `t0`
    that survived together with every write acknowledged before it."""
    writes = history.ops(prefix=process_prefix)
    acked = sorted((op for op in writes if op.outcome == "ok" and op.end < t0), key=_acked_at)
    lost = [op.value for op in acked if op.value not in survivors]
    details: dict = {
        "t0": t0,
        "acked_before_t0": len(acked),
        "acked": sum(op.outcome == "ok" for op in writes),
        "indeterminate": sum(op.outcome == "info" for op in writes),
        "lost_count": len(lost),
        "lost_ids": sorted(lost),
    }
    if not acked:
        details["recovery_point"] = None
        return CheckResult(
            name,
            0.0,
            "s",
            threshold_s,
            True,
            f"{name} 0 s ≤ {number(threshold_s)} s: no write was acknowledged before T0, "
            "so none could be lost",
            details,
        )
    intact = _intact_prefix(acked, survivors)
    if intact:
        recovery_point = intact[-1].end
        anchor = f"write {intact[-1].value}, acknowledged at {clock(recovery_point)}"
    else:  # even the first acknowledged write is gone: nothing observed is known to be safe
        recovery_point = writes[0].start
        anchor = f"the first write at {clock(recovery_point)}, as write {acked[0].value} is lost"
    figure = t0 - recovery_point
    passed = figure <= threshold_s
    details["recovery_point"] = recovery_point
    explanation = (
        f"{name} {figure:.2f} s {'≤' if passed else '>'} {number(threshold_s)} s: "
        f"recovery point is {anchor} ({len(lost)} of {len(acked)} writes acknowledged before T0 "
        f"lost, {details['indeterminate']} indeterminate not counted)"
    )
    return CheckResult(name, figure, "s", threshold_s, passed, explanation, details)


def lost_writes(
    history: History, survivors: set[int], allowed: int = 0, *, process_prefix: str = "writer"
) -> CheckResult:
    """Acknowledged writes, at any time, that are absent after recovery."""
    writes = history.ops(prefix=process_prefix)
    acked = [op.value for op in writes if op.outcome == "ok"]
    indeterminate = sorted(op.value for op in writes if op.outcome == "info")
    lost = sorted(value for value in acked if value not in survivors)
    passed = len(lost) <= allowed
    listed = f" (ids {_abbreviated(lost)})" if lost else ""
    explanation = (
        f"{len(lost)} of {len(acked)} acknowledged writes lost{listed} "
        f"{'≤' if passed else '>'} {allowed} allowed; "
        f"{len(indeterminate)} indeterminate writes are not counted"
    )
    details = {
        "acked": len(acked),
        "lost_count": len(lost),
        "lost_ids": lost,
        "indeterminate_ids": indeterminate,
        "indeterminate_survived": sum(value in survivors for value in indeterminate),
    }
    return CheckResult("lost writes", len(lost), "writes", allowed, passed, explanation, details)


PRIMARY_LAG = "pg_stat_replication.replay_lag on the primary"
STANDBY_LAG = "now() - pg_last_xact_replay_timestamp() on the standby"


def rpo_lag(
    history: History, t0: float, threshold_s: float, *, prefix: str = "lag:"
) -> CheckResult:
    """Replication lag (seed section 7) at the last successful LagSampler sample completed at or
    before `t0`: what a failover at `t0` could lose.

    The primary's replay_lag is preferred when sampled: the standby's replay delay also grows
    while the primary is idle, when there is nothing to lose.
    """
    samples = [op for op in history.ops(prefix=prefix) if op.outcome == "ok" and op.end <= t0]
    measured = [(op, *_lag(op.value)) for op in samples]
    measured = [(op, lag, definition) for op, lag, definition in measured if lag is not None]
    details: dict = {
        "t0": t0,
        "samples_before_t0": len(samples),
        "max_lag_before_t0_s": max((lag for _, lag, _ in measured), default=None),
        "max_receive_replay_bytes": _max_of(samples, "standby_receive_replay_bytes"),
        "max_sent_replay_bytes": _max_of(samples, "primary_sent_replay_bytes"),
    }
    name = "RPO (replication lag)"
    if not measured:
        why = "no successful" if not samples else f"none of the {len(samples)} successful"
        return CheckResult(
            name,
            None,
            "s",
            threshold_s,
            False,
            f"{name} not measured: {why} lag sample ({prefix}*) with a lag figure "
            f"completed before T0",
            details,
        )
    op, figure, definition = measured[-1]
    passed = figure <= threshold_s
    details |= {"definition": definition, "sampled_at": op.end, "sample_age_s": t0 - op.end}
    explanation = (
        f"{name} {figure:.2f} s {'≤' if passed else '>'} {number(threshold_s)} s: "
        f"{definition} at {clock(op.end)}, {t0 - op.end:.2f} s before T0 (max "
        f"{details['max_lag_before_t0_s']:.2f} s over {len(samples)} samples before T0)"
    )
    return CheckResult(name, figure, "s", threshold_s, passed, explanation, details)


def _lag(sample: dict) -> tuple[float | None, str]:
    if sample.get("primary_replay_lag_s") is not None:
        return sample["primary_replay_lag_s"], PRIMARY_LAG
    if sample.get("streaming") and sample.get("primary_sent_replay_bytes") == 0:
        return 0.0, PRIMARY_LAG  # replay_lag turns NULL once the standby has caught up, idle
    return sample.get("standby_replay_delay_s"), STANDBY_LAG


def _max_of(samples: list[Op], key: str) -> float | None:
    return max((op.value[key] for op in samples if op.value.get(key) is not None), default=None)


def _acked_at(op: Op) -> float:
    return op.end


def _intact_prefix(acked: list[Op], survivors: set[int]) -> list[Op]:
    """The acknowledged writes, in acknowledgement order, up to the first one that is lost."""
    for index, op in enumerate(acked):
        if op.value not in survivors:
            return acked[:index]
    return acked


def _abbreviated(ids: list, shown: int = 10) -> str:
    text = ", ".join(str(i) for i in ids[:shown])
    return text + (f" and {len(ids) - shown} more" if len(ids) > shown else "")
