"""Cross-region replication (CRR) of object storage.

The lag, from the canary samples in the history (drillbook.workload.canary): the alert signal
of seed section 2 (CRR lag > 60 s) and the drain of the backlog once replication is restored.
The content, as the stores themselves report it: each object's latest version read in both
regions, its hash computed from the bytes each store returns and its replication status the
one each store reports (S3's and MinIO's `x-amz-replication-status`: COMPLETED on the source
once replicated, REPLICA on the copy); and every version and delete marker by its ETag.
"""

from __future__ import annotations

from drillbook.checks.result import CheckResult, clock, not_measured, number
from drillbook.checks.sla import describe_window
from drillbook.objects import FIRST_SHOWN, ObjectState
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
        why = f"no CRR lag sample of {bucket} {span}"
        return not_measured(name, "s", threshold_s, why, {"samples": 0, "window": list(window)})
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
    against `limit_s`: "not drained" while canaries still waited at the last sample, not
    measured without a sample since `since`."""
    name = "CRR backlog drained"
    samples = crr_samples(history, bucket, start=since)
    if not samples:
        why = f"no CRR lag sample of {bucket} since replication was restored at {clock(since)}"
        return not_measured(name, "s", limit_s, why, {"samples": 0, "since": since})
    drained = next((op for op in samples if op.value["pending"] == 0), None)
    if drained is None:
        last = samples[-1]
        explanation = (
            f"{name}: not drained, canaries of {bucket} still waiting at the last of "
            f"{len(samples)} samples since replication was restored ({last.value['pending']} "
            f"objects, CRR lag {last.value['lag_s']:.1f} s at {clock(last.end)})"
        )
        details = {"samples": len(samples), "since": since, "pending": last.value["pending"]}
        return CheckResult(
            name, None, "s", limit_s, False, explanation, details, note="not drained"
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
        return not_measured(name, "s", limit_s, f"no CRR lag sample of {bucket}", {"samples": 0})
    last = samples[-1]
    figure, pending = last.value["lag_s"], last.value["pending"]
    passed = figure <= limit_s
    explanation = (
        f"{name} {figure:.2f} s {'≤' if passed else '>'} {number(limit_s)} s at "
        f"{clock(last.end)} ({pending} objects waiting)"
    )
    return CheckResult(name, figure, "s", limit_s, passed, explanation, {"pending": pending})


SOURCE_DONE = "COMPLETED"
TARGET_COPY = "REPLICA"


def replicated(
    bucket: str,
    source: tuple[str, dict[str, ObjectState]],
    target: tuple[str, dict[str, ObjectState]],
) -> CheckResult:
    """Every object of `bucket` in the source region is in the target region as the same
    version with the same content, reported COMPLETED by the source and REPLICA by the target
    (or, for an object the target region wrote and replicated back, the other way round).

    `source` and `target` are (region, key -> state). The figure is the number of objects that
    are not; an empty source bucket is not a replication measured.
    """
    (source_region, at_source), (target_region, at_target) = source, target
    name = f"objects not replicated to {target_region}"
    route = f"{bucket} from {source_region} to {target_region}"
    if not at_source:
        why = f"{bucket} holds no object in {source_region}"
        return not_measured(name, "objects", 0, why, {"objects": 0})
    problems = _problems(at_source, at_target)
    details = {
        "objects": len(at_source),
        "not_replicated": len(problems),
        "problems": dict(list(problems.items())[:FIRST_SHOWN]),
    }
    if problems:
        first = next(iter(problems.items()))
        explanation = (
            f"{len(problems)} of {len(at_source)} objects of {route} not replicated with the "
            f"same content; first: {first[0]}: {first[1]}"
        )
    else:
        explanation = (
            f"all {len(at_source)} objects of {route} replicated: same version and SHA-256, "
            f"{SOURCE_DONE} where written, {TARGET_COPY} where copied"
        )
    return CheckResult(name, len(problems), "objects", 0, not problems, explanation, details)


def replicated_at_cut(
    bucket: str,
    source: tuple[str, dict[str, ObjectState]],
    target: tuple[str, dict[str, ObjectState]],
    cut: float,
    lag_limit_s: float,
) -> CheckResult:
    """`replicated` for a source region cut off at `cut` (epoch seconds), as runbook 5.2 step 5
    verifies CRR while the primary region is down: only the objects it held at the cut count.

    An object its store had not reported replicated (not COMPLETED) was in flight at the cut
    when written at most `lag_limit_s` (the plan's CRR lag) before it: the cut, not CRR, kept
    it from the target, and it is named, not failed. One written after the cut (a worker of
    the cut-off region finishing its task) could not replicate until the links are back. Both
    are the failback's to reconcile, and its diff of versions shows whether they were. The
    figure is the number of objects held at the cut that are neither replicated nor in flight;
    not measured when none was replicated (nothing was verified). `written_at` is the store's
    clock in whole seconds: an object written in the second of the cut can count as held, and
    is then in flight; a lag limit of many seconds absorbs that and a small clock skew.
    Written for buckets whose keys are written once (exports): a key rewritten after the cut
    is judged by its newest version, so it is left out as written after it.
    """
    (source_region, at_source), (target_region, at_target) = source, target
    name = f"objects held at the cut not replicated to {target_region}"
    route = f"{bucket} from {source_region} to {target_region}"
    held = {key: state for key, state in at_source.items() if _written_by(state, cut)}
    after = len(at_source) - len(held)
    if not held:
        why = f"{bucket} held no object in {source_region} at the cut ({after} written after it)"
        return not_measured(name, "objects", 0, why, {"objects": 0, "after_cut": after})
    problems = _problems(held, at_target)
    in_flight = {
        key: f"{problem}, written {cut - held[key].written_at:.2f} s before the cut"
        for key, problem in problems.items()
        if held[key].replication_status != SOURCE_DONE and cut - held[key].written_at <= lag_limit_s
    }
    failing = {key: problem for key, problem in problems.items() if key not in in_flight}
    if len(in_flight) == len(held):
        why = (
            f"none of the {len(held)} objects of {route} held at the cut was replicated yet: "
            f"all in flight ({_first(in_flight)})"
        )
        return not_measured(name, "objects", 0, why, {"objects": len(held), "after_cut": after})
    details = {
        "objects": len(held),
        "after_cut": after,
        "lag_limit_s": lag_limit_s,
        "in_flight": dict(list(in_flight.items())[:FIRST_SHOWN]),
        "not_replicated": len(failing),
        "problems": dict(list(failing.items())[:FIRST_SHOWN]),
    }
    aside = (
        f"{len(in_flight)} in flight at the cut (written within the {number(lag_limit_s)} s "
        f"CRR lag, not yet replicated{': ' + _first(in_flight) if in_flight else ''}), "
        f"{after} written after it"
    )
    if failing:
        first = next(iter(failing.items()))
        explanation = (
            f"{len(failing)} of {len(held)} objects of {route} held at the cut not replicated "
            f"with the same content; first: {first[0]}: {first[1]}; {aside}"
        )
    else:
        explanation = (
            f"{len(held) - len(in_flight)} of {len(held)} objects of {route} held at the cut "
            f"replicated with the same version and SHA-256; {aside}"
        )
    return CheckResult(name, len(failing), "objects", 0, not failing, explanation, details)


def _first(problems: dict[str, str], shown: int = 3) -> str:
    return "; ".join(f"{key}: {why}" for key, why in list(problems.items())[:shown])


def _written_by(state: ObjectState, cut: float) -> bool:
    if state.written_at is None:
        raise ValueError("the store did not say when the object was written")
    return state.written_at <= cut


def _problems(
    at_source: dict[str, ObjectState], at_target: dict[str, ObjectState]
) -> dict[str, str]:
    """Key -> why the source's object is not replicated in the target, by key."""
    return {
        key: problem
        for key, state in sorted(at_source.items())
        if (problem := _problem(state, at_target.get(key)))
    }


def _problem(source: ObjectState, target: ObjectState | None) -> str | None:
    if target is None:
        return "missing in the target region"
    if target.version_id != source.version_id:
        return f"target holds version {target.version_id}, source {source.version_id}"
    if target.sha256 != source.sha256:
        return f"content differs: SHA-256 {target.sha256} at the target, {source.sha256}"
    back = source.replication_status == TARGET_COPY  # the target region wrote it, CRR back
    expected = {"source": TARGET_COPY, "target": SOURCE_DONE} if back else {
        "source": SOURCE_DONE, "target": TARGET_COPY}  # fmt: skip
    for end, state in (("source", source), ("target", target)):
        if state.replication_status != expected[end]:
            written = " (written in the target region, replicated back)" if back else ""
            return (
                f"{end} reports replication status {state.replication_status}, expected "
                f"{expected[end]}{written}"
            )
    return None


def versions_match(
    location: str,
    source: tuple[str, dict[tuple[str, str], str]],
    target: tuple[str, dict[tuple[str, str], str]],
) -> CheckResult:
    """Every version and delete marker of `location` in the source region exists in the target
    region under the same version id with the same ETag (the content digest each store
    reports). `source` and `target` are (region, (key, version id) -> ETag or DELETE_MARKER);
    the figure is the number of versions that differ or are missing."""
    (source_region, at_source), (target_region, at_target) = source, target
    name = f"versions differing in {target_region}"
    route = f"{location} from {source_region} to {target_region}"
    if not at_source:
        why = f"{location} holds no version in {source_region}"
        return not_measured(name, "versions", 0, why, {"versions": 0})
    differing = {
        f"{key} {version}": f"{etag} at the source, {at_target.get((key, version), 'missing')}"
        for (key, version), etag in sorted(at_source.items())
        if at_target.get((key, version)) != etag
    }
    details = {"versions": len(at_source), "differing": dict(list(differing.items())[:FIRST_SHOWN])}
    if differing:
        first = next(iter(differing.items()))
        explanation = (
            f"{len(differing)} of {len(at_source)} versions of {route} missing or different; "
            f"first: {first[0]}: {first[1]} at the target"
        )
    else:
        explanation = (
            f"all {len(at_source)} versions and delete markers of {route} are in the target "
            "with the same version id and ETag"
        )
    return CheckResult(name, len(differing), "versions", 0, not differing, explanation, details)
