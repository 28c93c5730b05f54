"""The export chain: exports requested continuously, the export worker killed mid-task, the
replay from the task queue's offset snapshot, and the checks of the April drill (seed 4.1):
`POST /exports` answered within 5 s, every task completed exactly once, the replay's time, and
the artifacts replicated to the DR region."""

from __future__ import annotations

import itertools
import time
from functools import partial

import httpx
import pytest
from pytest_bdd import given, parsers, then, when

from drillbook.checks import CheckResult
from drillbook.checks.crr import replicated
from drillbook.checks.duration import to_seconds
from drillbook.checks.exports import (
    ExportRecord,
    acknowledged,
    artifacts_match,
    exactly_once,
    replay_completed,
)
from drillbook.checks.latency import answered_within
from drillbook.conditions import Poll, condition
from drillbook.drill import Drill
from drillbook.faults.heal import heal_export_worker
from drillbook.faults.journal import FaultJournal
from drillbook.objects import latest_objects, version_counts
from drillbook.stack import LocalStack
from drillbook.stack.objectstore import EXPORTS_BUCKET
from drillbook.stack.postgres import APP_DB
from drillbook.workload import HttpProbe
from steps import probe_process
from steps.storage import store_in
from steps.traffic import run_client, user_id

EXPORTS = probe_process("/exports")
ARTIFACTS = "exports/"
# Long enough to measure a slow answer against the plan's 5 s rather than cut it short.
REQUEST_TIMEOUT_S = 10.0
# How long the kill waits for the worker to be inside a task.
KILL_WINDOW_S = 10.0
USERS = 10

TASK_IN_HAND = """
SELECT task_id, entry_id, extract(epoch FROM started_at)::float8 FROM exports.attempts
WHERE worker = %s AND outcome = 'running' ORDER BY id DESC LIMIT 1
"""
RECORDS = """
SELECT t.id, extract(epoch FROM c.completed_at)::float8, c.object_key, c.sha256,
       (SELECT count(*) FROM exports.attempts a
        WHERE a.task_id = t.id AND a.outcome IN ('done', 'reused', 'duplicate'))
FROM exports.tasks t LEFT JOIN exports.completions c ON c.task_id = t.id
"""


@given(parsers.parse("exports are requested every {interval:d} ms"))
def exports_requested(drill: Drill, environment: LocalStack, interval: int) -> None:
    users = itertools.cycle([user_id(n) for n in range(1, USERS + 1)])
    probe = HttpProbe(
        drill.history,
        environment.service.url,
        "/exports",
        interval_s=interval / 1000,
        timeout_s=REQUEST_TIMEOUT_S,
        method="POST",
        body=lambda: {"user": next(users), "kind": "history"},
        record=lambda response: response.json()["id"],
    )
    run_client(drill, probe)


@when("the export worker is killed mid-task")
def kill_worker(drill: Drill, environment: LocalStack, journal: FaultJournal) -> None:
    worker = environment.export_worker
    pid = worker.pid()
    drill.mark_fault()
    task, entry, started = journal.inject(
        "kill -9",
        "export worker",
        partial(worker.kill_mid_task, partial(task_in_hand, environment), KILL_WINDOW_S),
        partial(heal_export_worker, environment),
        pid=pid,
    )
    drill.facts["killed_task"] = task
    drill.evidence.attach_json(
        f"kill -9 {pid} (export worker, mid-task)",
        {"pid": pid, "task": task, "stream_entry": entry, "attempt_started_at": started},
    )


def task_in_hand(environment: LocalStack, consumer: str) -> tuple | None:
    """The task the worker `consumer` has started and not finished, if any."""
    rows = environment.pg.primary.query(TASK_IN_HAND, (consumer,), dbname=APP_DB)
    return rows[0] if rows else None


@when("the export worker is restarted")
def worker_restarted(drill: Drill, journal: FaultJournal) -> None:
    reverted = journal.revert_target("export worker")
    assert reverted, "no fault on the export worker to revert"
    drill.marks["export worker restored"] = reverted[0].reverted_at


@when("failed exports are replayed from the queue snapshot")
def replay(drill: Drill, environment: LocalStack) -> None:
    """The operator's replay (POST /admin/exports/replay); its start is the replay time's."""
    drill.marks["replay start"] = time.time()
    response = httpx.post(f"{environment.service.url}/admin/exports/replay", timeout=10.0)
    response.raise_for_status()
    answer = response.json()
    drill.facts["replayed"] = answer["replayed"]
    drill.evidence.attach_json("POST /admin/exports/replay", answer)


@condition("every acknowledged export is done")
def exports_done(request: pytest.FixtureRequest, drill: Drill) -> Poll:
    environment: LocalStack = request.getfixturevalue("environment")

    def poll() -> tuple[bool, str]:
        acked = acknowledged(drill.history, EXPORTS)
        done = {
            task: record.completed_at
            for task, record in export_records(environment).items()
            if task in acked and record.completed_at is not None
        }
        if acked and len(done) == len(acked):
            drill.recovered_at = max(drill.recovered_at or 0.0, *done.values())
        return bool(acked) and len(done) == len(acked), f"{len(done)} of {len(acked)} done"

    return poll


@condition('every object in "{location}" is replicated from {source} to {target}')
def objects_replicated(
    request: pytest.FixtureRequest, drill: Drill, location: str, source: str, target: str
) -> Poll:
    environment: LocalStack = request.getfixturevalue("environment")

    def poll() -> tuple[bool, str]:
        result = replication_check(environment, location, source, target)
        return result.passed, result.explanation

    return poll


@then(parsers.parse('every request to "{path}" was answered within {limit:g} {unit}'))
def answered_in_time(drill: Drill, path: str, limit: float, unit: str) -> None:
    drill.stop_workload()
    drill.check(answered_within(drill.history, probe_process(path), to_seconds(limit, unit)))


@then("every acknowledged export was completed exactly once")
def completed_once(drill: Drill, environment: LocalStack) -> None:
    drill.stop_workload()
    records = export_records(environment)
    drill.check(exactly_once(drill.history, EXPORTS, records))


@then(parsers.parse("the replayed exports completed within {limit:g} {unit}"))
def replay_time(drill: Drill, environment: LocalStack, limit: float, unit: str) -> None:
    if "replay start" not in drill.marks:
        raise AssertionError('no replay: add "When failed exports are replayed ..."')
    records = export_records(environment)
    replayed = drill.facts["replayed"]
    if killed := records.get(drill.facts.get("killed_task", "")):
        done_after = None if killed.completed_at is None else killed.completed_at - drill.t0
        drill.evidence.attach_json(
            "the task the worker was killed in",
            {
                "task": killed.task_id,
                "replayed": killed.task_id in replayed,
                "done_after_t0_s": done_after,
            },
        )
    drill.check(replay_completed(drill.marks["replay start"], replayed, records, limit, unit))


@then(
    parsers.parse(
        'every object in "{location}" is replicated from {source} to {target} with the same content'
    )
)
def replicated_with_same_content(
    drill: Drill, environment: LocalStack, location: str, source: str, target: str
) -> None:
    drill.check(replication_check(environment, location, source, target))


@then(parsers.parse("every export artifact in {region} has the content hash its task recorded"))
def artifacts_in_region(drill: Drill, environment: LocalStack, region: str) -> None:
    drill.stop_workload()
    stored = latest_objects(store_in(environment, region).client(), EXPORTS_BUCKET, ARTIFACTS)
    records = export_records(environment)
    drill.check(artifacts_match(drill.history, EXPORTS, records, region, stored))


def replication_check(
    environment: LocalStack, location: str, source: str, target: str
) -> CheckResult:
    """`location` is a bucket, or a bucket and a key prefix ("glancy-exports/exports/")."""
    bucket, _, prefix = location.partition("/")
    states = [
        (region, latest_objects(store_in(environment, region).client(), bucket, prefix))
        for region in (source, target)
    ]
    return replicated(location, *states)


def export_records(environment: LocalStack) -> dict[str, ExportRecord]:
    """Every task as the service's database and the primary region's versioned bucket hold
    it: its completion, the deliveries that reached completion, the writes of its artifact."""
    rows = environment.pg.primary.query(RECORDS, dbname=APP_DB)
    versions = version_counts(environment.storage.primary.client(), EXPORTS_BUCKET, ARTIFACTS)
    return {
        task: ExportRecord(task, completed_at, completing, versions[key] if key else 0, key, sha)
        for task, completed_at, key, sha, completing in rows
    }
