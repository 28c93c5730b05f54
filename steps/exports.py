"""The export chain: exports requested continuously, the export worker killed mid-task, the
replay from the task queue's offset snapshot, and the checks of the April drill (seed 4.1):
`POST /exports` answered within 5 s, every task completed exactly once, the replay's time, and
the artifacts replicated to the DR region."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import ClassVar

from pytest_bdd import given, parsers, then, when

from drillbook.bdd import performs, reverts
from drillbook.capabilities import ExportQueue, ObjectStorage, Service
from drillbook.capabilities.exports import REPLAY, WORKER
from drillbook.checks.crr import replicated, replicated_at_cut
from drillbook.checks.duration import to_seconds
from drillbook.checks.exports import (
    ExportRecord,
    acknowledged,
    artifacts_match,
    download_problem,
    exactly_once,
    replay_completed,
)
from drillbook.checks.latency import answered_within
from drillbook.conditions import Poll, condition
from drillbook.drill import Drill, MissingStep
from drillbook.objects import ObjectState, split_location
from drillbook.spot_check import SampleCheck
from drillbook.workload import HttpProbe
from steps import probe_process, spot_check_sample
from steps.traffic import user_id

EXPORTS = probe_process("/exports")
# Long enough to measure a slow answer against the plan's 5 s rather than cut it short.
REQUEST_TIMEOUT_S = 10.0
# How long the kill waits for the worker to be inside a task.
KILL_WINDOW_S = 10.0
USERS = 10
REPLAYED_SAMPLE = SampleCheck(
    check="replayed exports not downloadable as recorded",
    unit="replayed exports",
    item="导出任务重放",
    drawn="重放补偿的失败任务",
    right="可下载且内容与记录一致",
)


@dataclass(frozen=True)
class ExportRequests:
    """The client requesting exports, so that a step can end the requests."""

    PROVIDED_BY: ClassVar[str] = "Given exports are requested every N ms"
    probe: HttpProbe


@dataclass(frozen=True)
class KilledTask:
    """The task the export worker was killed in."""

    PROVIDED_BY: ClassVar[str] = "When the export worker is killed mid-task"
    task: str


@dataclass(frozen=True)
class Replayed:
    """The tasks the replay re-enqueued."""

    PROVIDED_BY: ClassVar[str] = "When failed exports are replayed from the queue snapshot"
    tasks: tuple[str, ...]


@given(parsers.parse("exports are requested every {interval:d} ms"))
def exports_requested(drill: Drill, service: Service, interval: int) -> None:
    users = itertools.cycle([user_id(n) for n in range(1, USERS + 1)])
    probe = HttpProbe(
        drill.history,
        service.url,
        "/exports",
        interval_s=interval / 1000,
        timeout_s=REQUEST_TIMEOUT_S,
        method="POST",
        body=lambda: {"user": next(users), "kind": "history"},
        record=lambda response: response.json()["id"],
    )
    drill.run_client(probe)
    drill.remember(ExportRequests(probe))


@when("exports are no longer requested")
def exports_stop(drill: Drill) -> None:
    """The incident is over for the clients: no new export, so that the waits and checks
    that follow see every acknowledged task settle (the answers so far stay in the history)."""
    drill.recall(ExportRequests).probe.stop()


@when("the export worker is killed mid-task")
@performs("exports.kill_worker_mid_task", timeout_s=f"{KILL_WINDOW_S:g}")
def kill_worker(drill: Drill, exports: ExportQueue) -> None:
    killed = drill.apply(exports.kill_worker_mid_task(KILL_WINDOW_S))
    drill.remember(KilledTask(killed["task"]))
    drill.evidence.attach_json(f"kill -9 {killed['pid']} (export worker, mid-task)", killed)


@when("the export worker is restarted")
@reverts("exports.kill_worker_mid_task")
def worker_restarted(drill: Drill) -> None:
    drill.restore(WORKER)


@when("failed exports are replayed from the queue snapshot")
@performs("exports.replay")
def replay(drill: Drill, exports: ExportQueue) -> None:
    """The operator's replay (POST /admin/exports/replay); its start is the replay time's."""
    answer = drill.apply(exports.replay())
    drill.remember(Replayed(tuple(answer["replayed"])))
    drill.evidence.attach_json("POST /admin/exports/replay", answer)


@condition("every acknowledged export is done")
def exports_done(drill: Drill, exports: ExportQueue) -> Poll:
    """Every task whose creation was acknowledged has its completion; the last completion is
    the export chain's recovery."""

    def poll() -> tuple[bool, str]:
        acked = acknowledged(drill.history, EXPORTS)
        done = {
            task: record.completed_at
            for task, record in exports.records().items()
            if task in acked and record.completed_at is not None
        }
        finished = bool(acked) and len(done) == len(acked)
        if finished:
            drill.recovered(max(done.values()))
        return finished, f"{len(done)} of {len(acked)} done"

    return poll


@condition('every object in "{location}" is replicated from {source} to {target}')
def objects_replicated(
    drill: Drill, storage: ObjectStorage, location: str, source: str, target: str
) -> Poll:
    """`location` is a bucket, or a bucket and a key prefix ("glancy-exports/exports/")."""
    bucket, prefix = split_location(location)

    def poll() -> tuple[bool, str]:
        states = [
            (region, storage.latest_objects(region, bucket, prefix)) for region in (source, target)
        ]
        result = replicated(location, *states)
        return result.passed, result.explanation

    return poll


@then(parsers.parse('every request to "{path}" was answered within {limit:g} {unit}'))
def answered_in_time(drill: Drill, path: str, limit: float, unit: str) -> None:
    drill.verdict(answered_within(drill.history, probe_process(path), to_seconds(limit, unit)))


@then("every acknowledged export was completed exactly once")
def completed_once(drill: Drill, exports: ExportQueue) -> None:
    drill.verdict(exactly_once(drill.history, EXPORTS, export_records(drill, exports)))


@then(parsers.parse("the replayed exports completed within {limit:g} {unit}"))
def replay_time(drill: Drill, exports: ExportQueue, limit: float, unit: str) -> None:
    """From the replay's start (its operation in the history) to the completion of the last
    task it re-enqueued."""
    replays = drill.remediations(REPLAY)
    if not replays:
        raise MissingStep(
            'no replay: add "When failed exports are replayed from the queue snapshot"'
        )
    records = export_records(drill, exports)
    replayed = list(drill.recall(Replayed).tasks)
    if drill.knows(KilledTask) and (killed := records.get(drill.recall(KilledTask).task)):
        t0 = drill.require_t0()
        done_after = None if killed.completed_at is None else killed.completed_at - t0
        drill.evidence.attach_json(
            "the task the worker was killed in",
            {
                "task": killed.task_id,
                "replayed": killed.task_id in replayed,
                "done_after_t0_s": done_after,
            },
        )
    drill.verdict(replay_completed(replays[-1].start, replayed, records, limit, unit))


@condition(
    'every object in "{location}" that {source} held at the cut is in {target}, '
    "or was in flight for at most {lag:g} seconds"
)
def objects_held_at_cut_replicated(
    drill: Drill, storage: ObjectStorage, location: str, source: str, target: str, lag: float
) -> Poll:
    """Runbook 5.2 step 5's CRR check while `source` is cut off (the cut: T0): the objects it
    held then, each replicated or in flight within the CRR lag `lag` (drillbook.checks.crr)."""
    bucket, prefix = split_location(location)
    cut = drill.require_t0()

    def poll() -> tuple[bool, str]:
        states = [
            (region, storage.latest_objects(region, bucket, prefix)) for region in (source, target)
        ]
        result = replicated_at_cut(location, *states, cut=cut, lag_limit_s=lag)
        return result.passed, result.explanation

    return poll


@then(
    parsers.parse(
        'every object in "{location}" is replicated from {source} to {target} with the same content'
    )
)
def replicated_with_same_content(
    drill: Drill, storage: ObjectStorage, location: str, source: str, target: str
) -> None:
    bucket, prefix = split_location(location)
    states = [
        (region, latest_objects(drill, storage, region, bucket, prefix))
        for region in (source, target)
    ]
    drill.verdict(replicated(location, *states))


@then(parsers.parse("every export artifact in {region} has the content hash its task recorded"))
def artifacts_in_region(drill: Drill, exports: ExportQueue, region: str) -> None:
    records = export_records(drill, exports)
    stored = drill.observed(f"export artifacts in {region}", partial(exports.artifacts, region))
    drill.verdict(artifacts_match(drill.history, EXPORTS, records, region, stored))


@then(
    parsers.parse(
        "a spot check of {n:d} replayed exports drawn at random downloads each with the content "
        "its task recorded"
    )
)
def replayed_spot_check(
    drill: Drill,
    exports: ExportQueue,
    draw_seed: int,
    progress: Callable[[str], None],
    n: int,
) -> None:
    """Seed 4.3's 导出任务重放 (随机抽 20 条失败任务): tasks the replay compensated, each fetched
    as its user would (status, then the download link) and its bytes hashed against what its
    task recorded."""
    records = export_records(drill, exports)
    population = {task: task for task in drill.recall(Replayed).tasks}

    def verify(task: str) -> str | None:
        return download_problem(records.get(task), download(exports, task))

    spot_check_sample(drill, progress, draw_seed, n, REPLAYED_SAMPLE, population, verify)


def download(exports: ExportQueue, task: str) -> bytes | str:
    """The bytes a user downloads, or what the user saw instead: whatever went wrong is this
    task's problem, never the end of the spot check."""
    try:
        return exports.downloaded(task)
    except Exception as exc:  # noqa: BLE001 - recorded as the task's problem
        return f"{type(exc).__name__}: {exc}"


# What the Then steps read of the live environment, read once: the worker may complete a task
# and a replica may copy an object after the freeze, and every Then must see the same.


def export_records(drill: Drill, exports: ExportQueue) -> dict[str, ExportRecord]:
    return drill.observed("export records", exports.records)


def latest_objects(
    drill: Drill, storage: ObjectStorage, region: str, bucket: str, prefix: str
) -> dict[str, ObjectState]:
    """`bucket` and `prefix` as split_location gives them from a location ("glancy-exports"
    or "glancy-exports/exports/")."""
    return drill.observed(
        f"s3 {region}: latest objects of {bucket}/{prefix}",
        partial(storage.latest_objects, region, bucket, prefix),
    )
