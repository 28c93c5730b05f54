"""The export chain (seed 4.1, April): every acknowledged task completed exactly once, the
replay's completion time, and each artifact against the hash its task recorded.

A task is acknowledged when its `POST /exports` answered 2xx in the history, with the task id
as the operation's value. A request that timed out may or may not have created a task: like an
indeterminate write, it is never counted as lost.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace

from drillbook.checks.duration import duration_check, to_seconds
from drillbook.checks.result import CheckResult, not_measured
from drillbook.objects import ObjectState
from drillbook.workload.history import History


@dataclass(frozen=True)
class ExportRecord:
    """What the service's database and the versioned bucket hold of one task."""

    task_id: str
    completed_at: float | None  # its completion record, None if it has none
    completing_attempts: int  # deliveries that reached the completion step
    versions: int  # versions of its artifact in the bucket: each one a write
    object_key: str | None = None
    sha256: str | None = None


def acknowledged(history: History, prefix: str) -> dict[str, float]:
    """Task id -> when its creation was acknowledged, from the `prefix` requests."""
    return {op.value: op.end for op in history.ops(prefix=prefix) if op.outcome == "ok"}


def exactly_once(history: History, prefix: str, records: dict[str, ExportRecord]) -> CheckResult:
    """Every acknowledged task has a completion (none lost), reached by one delivery and
    written once (none done twice: the versioned bucket keeps every write of its artifact)."""
    name = "exports lost or done twice"
    acked = acknowledged(history, prefix)
    if not acked:
        requests = len(history.ops(prefix=prefix))
        why = (
            f"none of the {requests} export requests of {prefix}* was acknowledged"
            if requests
            else f"no export request of {prefix}* was recorded"
        )
        return not_measured(name, "tasks", 0, why, {"requests": requests, "acknowledged": 0})
    lost = sorted(t for t in acked if t not in records or records[t].completed_at is None)
    twice = sorted(
        t
        for t in acked
        if t in records and (records[t].completing_attempts > 1 or records[t].versions > 1)
    )
    details = {
        "acknowledged": len(acked),
        "lost": lost[:20],
        "lost_count": len(lost),
        "done_twice": [_twice(records[t]) for t in twice[:20]],
        "done_twice_count": len(twice),
        "unacknowledged_tasks": len(records.keys() - acked.keys()),
    }
    figure = len(lost) + len(twice)
    explanation = (
        f"{len(acked) - len(lost)} of {len(acked)} acknowledged exports completed; "
        f"{len(lost)} lost, {len(twice)} completed or written more than once"
    )
    if lost:
        explanation += f"; first lost: {lost[0]}"
    if twice:
        explanation += f"; first done twice: {_twice(records[twice[0]])}"
    return CheckResult(name, figure, "tasks", 0, figure == 0, explanation, details)


def replay_completed(
    started_at: float,
    replayed: list[str],
    records: dict[str, ExportRecord],
    limit: float,
    unit: str,
) -> CheckResult:
    """From the replay's start to the completion of the last task it re-enqueued (seed section
    7: failed tasks' compensation completion time), against the limit. A replayed task never
    completed fails as "never completed"; a replay that re-enqueued nothing is not measured."""
    name = "replay completed"
    if not replayed:
        why = (
            "the replay found no failed or interrupted task to re-enqueue "
            "(did the faults reach the export worker?)"
        )
        return not_measured(name, "s", to_seconds(limit, unit), why, {"replayed": 0})
    done = [records[t].completed_at for t in replayed if t in records]
    open_tasks = [t for t in replayed if t not in records or records[t].completed_at is None]
    took = None if open_tasks else max(done) - started_at
    result = duration_check(name, took, limit, unit)
    details = {"replayed": len(replayed), "not_completed": open_tasks[:20]}
    if open_tasks:
        explanation = f"{len(open_tasks)} of {len(replayed)} replayed exports never completed"
        return replace(result, explanation=f"{result.explanation}: {explanation}", details=details)
    explanation = f"{result.explanation}: the last of {len(replayed)} replayed exports"
    return replace(result, explanation=explanation, details=details)


def artifacts_match(
    history: History,
    prefix: str,
    records: dict[str, ExportRecord],
    region: str,
    stored: dict[str, ObjectState],
) -> CheckResult:
    """Every completed acknowledged task's artifact is in `region`'s bucket with the SHA-256
    its task recorded (what a download link serves there)."""
    name = f"export artifacts wrong in {region}"
    acked = acknowledged(history, prefix)
    completed = [records[t] for t in acked if t in records and records[t].completed_at]
    if not completed:
        why = (
            f"none of the {len(acked)} acknowledged exports was completed"
            if acked
            else f"no export request of {prefix}* was acknowledged"
        )
        return not_measured(name, "artifacts", 0, why, {"acknowledged": len(acked), "completed": 0})
    problems = {
        r.task_id: problem
        for r in completed
        if (problem := _artifact_problem(r, stored.get(r.object_key or "")))
    }
    details = {"completed": len(completed), "problems": dict(list(problems.items())[:20])}
    explanation = (
        f"{len(completed) - len(problems)} of {len(completed)} completed exports have their "
        f"artifact in {region} with the recorded SHA-256"
    )
    if problems:
        task, problem = next(iter(problems.items()))
        explanation += f"; first problem: task {task}: {problem}"
    figure = len(problems)
    return CheckResult(name, figure, "artifacts", 0, figure == 0, explanation, details)


def download_problem(record: ExportRecord | None, downloaded: bytes | str) -> str | None:
    """What is wrong with one task as its user gets it: `downloaded` is the bytes its link
    served, or what the user saw instead (an error). None when it completed once and the
    download has the SHA-256 the task recorded."""
    if record is None or record.completed_at is None:
        return "never completed"
    if record.completing_attempts > 1 or record.versions > 1:
        return f"completed more than once: {_twice(record)}"
    if isinstance(downloaded, str):
        return downloaded
    digest = hashlib.sha256(downloaded).hexdigest()
    if digest != record.sha256:
        return f"the download has SHA-256 {digest}, the task recorded {record.sha256}"
    return None


def _artifact_problem(record: ExportRecord, state: ObjectState | None) -> str | None:
    if state is None:
        return f"{record.object_key} missing"
    if state.sha256 != record.sha256:
        return f"{record.object_key} has SHA-256 {state.sha256}, the task recorded {record.sha256}"
    return None


def _twice(record: ExportRecord) -> str:
    return (
        f"{record.task_id} ({record.completing_attempts} completing deliveries, "
        f"{record.versions} versions of {record.object_key})"
    )
