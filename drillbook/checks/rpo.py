"""RPO and lost writes: which acknowledged writes are missing after recovery; and the RPO as
the plan measures it, from the standby's replication lag when the fault struck.

An indeterminate ("info") write may or may not have been committed: it is never counted as
lost, and never as durable either. A check with nothing to judge (no write, no lag sample) is
"not measured": it fails, rather than passing with a figure of 0.
"""

from __future__ import annotations

from dataclasses import dataclass

from drillbook.checks.result import CheckResult, clock, not_measured, number
from drillbook.workload.history import History, Op


def rpo(
    history: History,
    t0: float,
    survivors: set[int],
    threshold_s: float,
    *,
    process_prefix: str = "writer",
    name: str = "RPO",
    moment: str = "T0",
) -> CheckResult:
    """`t0` minus the recovery point: the acknowledgement time of the last write before `t0`
    that survived together with every write acknowledged before it. The explanation calls
    `t0` by `moment` (T0, or a switch the figure is measured at).

    Not measured when no write was acknowledged before `t0`: nothing could be lost then, and
    nothing shows that a write would have survived either.
    """
    writes = history.ops(prefix=process_prefix)
    acked = sorted((op for op in writes if op.outcome == "ok" and op.end < t0), key=_acked_at)
    lost = [op.value for op in acked if op.value not in survivors]
    details: dict = {
        "t0": t0,
        "writes": len(writes),
        "acked_before_t0": len(acked),
        "acked": sum(op.outcome == "ok" for op in writes),
        "indeterminate": sum(op.outcome == "info" for op in writes),
        "lost_count": len(lost),
        "lost_ids": sorted(lost),
    }
    if not acked:
        details["recovery_point"] = None
        if not writes:
            why = f"no write ({process_prefix}*) was recorded"
        else:
            why = (
                f"none of the {len(writes)} writes ({process_prefix}*) was acknowledged before "
                f"{moment} ({details['acked']} acknowledged after it), so none could show what "
                "survives the fault"
            )
        return not_measured(name, "s", threshold_s, why, details)
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
        f"recovery point is {anchor} ({len(lost)} of {len(acked)} writes acknowledged before "
        f"{moment} lost, {details['indeterminate']} indeterminate not counted)"
    )
    return CheckResult(name, figure, "s", threshold_s, passed, explanation, details)


def lost_writes(
    history: History, survivors: set[int], allowed: int = 0, *, process_prefix: str = "writer"
) -> CheckResult:
    """Acknowledged writes, at any time, that are absent after recovery. Not measured without
    an acknowledged write: a writer whose writes all failed could lose nothing."""
    writes = history.ops(prefix=process_prefix)
    acked = [op.value for op in writes if op.outcome == "ok"]
    indeterminate = sorted(op.value for op in writes if op.outcome == "info")
    lost = sorted(value for value in acked if value not in survivors)
    details = {
        "writes": len(writes),
        "acked": len(acked),
        "lost_count": len(lost),
        "lost_ids": lost,
        "indeterminate_ids": indeterminate,
        "indeterminate_survived": sum(value in survivors for value in indeterminate),
    }
    if not acked:
        why = (
            f"none of the {len(writes)} writes ({process_prefix}*) was acknowledged"
            if writes
            else f"no write ({process_prefix}*) was recorded"
        )
        return not_measured("lost writes", "writes", allowed, why, details)
    passed = len(lost) <= allowed
    listed = f" (ids {_abbreviated(lost)})" if lost else ""
    explanation = (
        f"{len(lost)} of {len(acked)} acknowledged writes lost{listed} "
        f"{'≤' if passed else '>'} {allowed} allowed; "
        f"{len(indeterminate)} indeterminate writes are not counted"
    )
    return CheckResult("lost writes", len(lost), "writes", allowed, passed, explanation, details)


# What bounded the figure of rpo_lag, as its details and explanation name it.
BOUNDS = {
    "replay_lag": "the primary's replay_lag (pg_stat_replication)",
    "feedback_age": "the age of the standby's last feedback (now() - reply_time on the primary)",
    "standby_replay_delay": "the standby's replay delay (now() - pg_last_xact_replay_timestamp())",
    "caught_up": "caught up (replay_lag NULL)",
}
# Where the outstanding WAL was read, from the most to the least direct reading.
OUTSTANDING = {
    "primary_written_standby_replay_bytes": "written on the primary was not replayed on the "
    "standby sampled right after",
    "primary_sent_replay_bytes": "sent by the primary was not replayed as of the standby's "
    "last feedback",
    "standby_receive_replay_bytes": "received by the standby was not replayed",
}


def rpo_lag(
    history: History,
    t0: float,
    threshold_s: float,
    *,
    prefix: str = "lag:",
    name: str = "RPO (replication lag)",
    moment: str = "T0",
) -> CheckResult:
    """Replication lag (seed section 7) at the last successful LagSampler sample completed at or
    before `t0` that has a figure: what a failover at `t0` could lose.

    The figure of a sample is the largest of the bounds that apply to it:

    - the primary's `replay_lag`, whenever reported: the lag the standby's last feedback
      measured. It cannot stand alone: it keeps its value when the feedback stops (a stalled
      WAL receiver, a partition), and read 0.002 s while 2.96 s of writes were missing.
    - while WAL is outstanding, the age of the standby's last feedback (`now() - reply_time`
      on the primary) and the standby's replay delay (`now() - pg_last_xact_replay_timestamp()`,
      the age of the newest commit it replayed). WAL is outstanding when the sample holds bytes
      the standby had not replayed (the primary's WAL position against the standby's replay
      position sampled right after it; without that reading, the larger of the primary's
      sent - replay and the standby's received - replayed) and, when both commit times are
      known, the primary had committed after the last transaction the standby replayed: WAL
      without a commit holds no acknowledged write. Otherwise neither is used, as both grow
      while the primary is idle, with nothing to lose: an idle, caught-up standby reads the
      last replay_lag, or 0 once it is NULL.

    While a commit is outstanding, a failover would recover to the last transaction the
    standby replayed: its replay delay is then T minus that recovery point, as `rpo` counts it
    from the writes (a single write caught in flight after a quiet spell reads the whole spell,
    there as here). The feedback's age is the primary's own view of the same stall, and the
    only one before the standby has replayed any transaction. A sample without the primary's
    side has only the standby's replay delay: it stands alone then, as nothing shows the primary
    idle. A sample with WAL outstanding but neither the feedback's age nor the replay delay has
    no figure: replay_lag alone could understate it. Without any sample that has a figure, the
    RPO is not measured.
    """
    samples = [op for op in history.ops(prefix=prefix) if op.outcome == "ok" and op.end <= t0]
    readings = [(op, _reading(op.value)) for op in samples]
    usable = [(op, reading) for op, reading in readings if reading.bounds]
    details: dict = {
        "t0": t0,
        "samples_before_t0": len(samples),
        "samples_without_figure": len(samples) - len(usable),
        "max_lag_before_t0_s": max((reading.figure for _, reading in usable), default=None),
        "max_receive_replay_bytes": _max_of(samples, "standby_receive_replay_bytes"),
        "max_sent_replay_bytes": _max_of(samples, "primary_sent_replay_bytes"),
        "max_written_replay_bytes": _max_of(samples, "primary_written_standby_replay_bytes"),
    }
    if not usable:
        if not samples:
            why = f"no successful lag sample ({prefix}*) completed before {moment}"
        else:
            why = (
                f"none of the {len(samples)} successful lag samples ({prefix}*) completed "
                f"before {moment} has a lag figure (the last one: {readings[-1][1].state})"
            )
        return not_measured(name, "s", threshold_s, why, details)
    op, reading = usable[-1]
    figure, bound = reading.figure, reading.bound
    passed = figure <= threshold_s
    details |= {
        "bound": bound,
        "definition": BOUNDS[bound],
        "bounds": reading.bounds,
        "outstanding_bytes": reading.outstanding_bytes,
        "outstanding_read_from": reading.read_from,
        "commit_outstanding": reading.commit_outstanding,
        "sampled_at": op.end,
        "sample_age_s": t0 - op.end,
    }
    lead = BOUNDS[bound] if bound == "caught_up" else f"bounded by {BOUNDS[bound]}"
    others = [
        f"{key.replace('_', ' ')} {value:.2f} s"
        for key, value in reading.bounds.items()
        if key != bound
    ]
    also = f"; also {', '.join(others)}" if others else ""
    explanation = (
        f"{name} {figure:.2f} s {'≤' if passed else '>'} {number(threshold_s)} s: {lead}, "
        f"as {reading.state}, in the sample of {clock(op.end)}, {t0 - op.end:.2f} s before "
        f"{moment}{also} (max {details['max_lag_before_t0_s']:.2f} s over {len(usable)} samples "
        f"before {moment})"
    )
    return CheckResult(name, figure, "s", threshold_s, passed, explanation, details)


def lag_figure(sample: dict) -> tuple[float | None, str]:
    """One lag sample's figure as rpo_lag reads it (None: the sample has none), and the state
    of the stream in words."""
    reading = _reading(sample)
    return (reading.figure if reading.bounds else None), reading.state


@dataclass(frozen=True)
class _Reading:
    """What one lag sample bounds: its figure is the largest of `bounds`; none, no figure."""

    bounds: dict[str, float]
    outstanding_bytes: int | None
    read_from: str | None  # the sample key the outstanding bytes were read from
    commit_outstanding: bool | None  # None: a commit time is not known
    state: str  # the state of the stream, as the explanation words it

    @property
    def figure(self) -> float:
        return max(self.bounds.values())

    @property
    def bound(self) -> str:
        return max(self.bounds, key=self.bounds.__getitem__)


def _reading(sample: dict) -> _Reading:
    delay = sample.get("standby_replay_delay_s")
    if "streaming" not in sample:  # a sampler without the primary's side
        pending = sample.get("standby_receive_replay_bytes")
        if delay is None:
            state = "the standby had replayed no transaction yet and the primary was not sampled"
            return _Reading({}, pending, None, None, state)
        state = "the primary was not sampled (only its side shows that it is idle)"
        return _Reading({"standby_replay_delay": delay}, pending, None, None, state)
    outstanding, read_from = _outstanding_bytes(sample)
    commit_outstanding = _commit_outstanding(sample)
    bounds: dict[str, float] = {}
    if sample.get("primary_replay_lag_s") is not None:
        bounds["replay_lag"] = sample["primary_replay_lag_s"]
    if outstanding and commit_outstanding is not False:
        state = f"{_size(outstanding)} of WAL {OUTSTANDING[read_from]}"
        if commit_outstanding:
            state += ", with a commit the standby lacked"
        if sample.get("streaming") is False:
            state += " (the primary had no walsender for it)"
        waiting = {
            "feedback_age": sample.get("primary_feedback_age_s"),
            "standby_replay_delay": delay,
        }
        known = {key: value for key, value in waiting.items() if value is not None}
        if not known:  # replay_lag alone could understate what is missing
            state += ", and neither the feedback's age nor the standby's replay delay is known"
            return _Reading({}, outstanding, read_from, commit_outstanding, state)
        return _Reading(bounds | known, outstanding, read_from, commit_outstanding, state)
    if outstanding:
        state = (
            f"the standby had replayed the primary's last commit ({_size(outstanding)} of WAL "
            "without one was still waiting)"
        )
    elif read_from is None:
        state = "no WAL count was sampled"
    else:
        state = "no WAL was waiting for the standby"
    if not bounds:
        bounds["caught_up"] = 0.0
    return _Reading(bounds, outstanding, read_from, commit_outstanding, state)


def _outstanding_bytes(sample: dict) -> tuple[int | None, str | None]:
    """WAL the standby had not replayed, and the sample key it was read from: the primary's WAL
    position against the standby's replay position is the direct reading; without it, the
    larger of the primary's sent - replay (as of the standby's last feedback, which can be 10 s
    old on an idle primary) and the standby's received - replayed."""
    direct = "primary_written_standby_replay_bytes"
    if sample.get(direct) is not None:
        return sample[direct], direct
    readings = [
        (sample[key], key)
        for key in ("primary_sent_replay_bytes", "standby_receive_replay_bytes")
        if sample.get(key) is not None
    ]
    return max(readings, default=(None, None))


def _commit_outstanding(sample: dict) -> bool | None:
    """Whether the primary had committed after the last transaction the standby replayed. Both
    times are the primary's commit timestamps: the hosts' clocks do not skew the comparison."""
    primary, standby = sample.get("primary_last_commit_at"), sample.get("standby_last_replay_at")
    if primary is None or standby is None:
        return None
    return primary > standby


def _size(count: int) -> str:
    """Bytes in the units of pg_size_pretty, to one decimal."""
    value, unit = float(count), "bytes"
    for larger in ("kB", "MB", "GB"):
        if value < 1024:
            break
        value, unit = value / 1024, larger
    return f"{count} bytes" if unit == "bytes" else f"{value:.1f} {unit}"


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
