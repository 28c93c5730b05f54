"""The export chain on the local stack: the service and the export worker against real
PostgreSQL, Redis and MinIO, with object storage cut at its Toxiproxy proxy; the queue kept
bounded by trimming and by removing dead consumers, under the replay."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterator
from functools import partial

import httpx
import pytest

from drillbook.environments.local.exports import task_in_hand
from drillbook.objects import version_counts
from drillbook.stack import LocalSettings, LocalStack
from drillbook.stack.objectstore import EXPORTS_BUCKET
from drillbook.stack.postgres import APP_DB
from reference.artifacts import render
from reference.exports import GROUP, STREAM, entry_order
from tests.integration.conftest import exposed, running_stack

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]

# a task delivered this long ago and not finished counts as interrupted
MIN_IDLE_S = 1.0
# the worker keeps its offset snapshots this long (the stream what they need), and removes a
# consumer idle this long that holds nothing; every test here runs with them
RETENTION_S = 2.0
CONSUMER_IDLE_S = 1.0
SNAPSHOT_INTERVAL_S = LocalSettings().export_snapshot_interval_s
# long enough for a few snapshot rounds
TRIM_WAIT_S = 30.0


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    with running_stack(LocalSettings(export_replay_min_idle_s=MIN_IDLE_S)) as local:
        # set in the worker's config, which a restart follows
        worker = local.export_worker
        worker.config["exports"].update(
            snapshot_retention_s=RETENTION_S, consumer_idle_limit_s=CONSUMER_IDLE_S
        )
        worker.stop()
        worker.start()
        yield local


@pytest.fixture
def client(stack: LocalStack) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=stack.service.url, timeout=5.0) as http:
        yield http


def wait_for(what: str, check: Callable[[], bool], timeout_s: float = 20.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        assert time.monotonic() < deadline, f"{what} not within {timeout_s} s"
        time.sleep(0.05)


def create(client: httpx.Client, user: str) -> str:
    return traced_create(client, user)[0]


def traced_create(client: httpx.Client, user: str) -> tuple[str, str]:
    """The task's id and the trace id its request was answered under."""
    started = time.monotonic()
    response = client.post("/exports", json={"user": user})
    assert response.status_code == 202, response.text
    assert time.monotonic() - started < 1.0, "POST /exports must only record and queue"
    return response.json()["id"], response.headers["X-Trace-Id"]


def task(client: httpx.Client, task_id: str) -> dict:
    return client.get(f"/exports/{task_id}").raise_for_status().json()


def done(client: httpx.Client, *task_ids: str) -> bool:
    return all(task(client, t)["status"] == "done" for t in task_ids)


def completed(stack: LocalStack, tasks: list[str]) -> bool:
    """All of `tasks` done, asked of PostgreSQL in one query rather than one GET per task."""
    [(count,)] = stack.pg.primary.query(
        "SELECT count(*) FROM exports.completions WHERE task_id = ANY(%s)", (tasks,), dbname=APP_DB
    )
    return count == len(tasks)


def stream(stack: LocalStack) -> dict:
    """XINFO STREAM: `length` (entries in the stream), `entries-added` (ever), `first-entry`."""
    return stack.redis.primary.client().xinfo_stream(STREAM)


def first_entry(stack: LocalStack) -> str | None:
    first = stream(stack)["first-entry"]
    return first[0].decode() if first else None


def pending_count(stack: LocalStack) -> int:
    return stack.redis.primary.client().xpending(STREAM, GROUP)["pending"]


def versions(stack: LocalStack, task_id: str) -> int:
    counts = version_counts(stack.storage.primary.client(), EXPORTS_BUCKET, "exports/")
    return sum(n for key, n in counts.items() if task_id in key)


def test_an_export_is_rendered_stored_and_served_by_its_link(stack, client):
    for word in ("lucid", "quorum"):
        client.get("/lookup", params={"word": word, "user": "u-link"}).raise_for_status()
    task_id = create(client, "u-link")
    wait_for("the export", lambda: done(client, task_id))
    answer = task(client, task_id)
    assert answer["attempts"] == 1
    artifact = httpx.get(answer["download_url"], timeout=5.0)
    assert artifact.status_code == 200
    assert hashlib.sha256(artifact.content).hexdigest() == answer["sha256"]
    header, *lines = artifact.text.splitlines()
    assert task_id in header
    assert ['"lucid"' in lines[0], '"quorum"' in lines[1]] == [True, True]


def test_storage_cut_fails_tasks_and_the_replay_completes_them_once(stack, client):
    stack.toxiproxy.update_proxy("s3", enabled=False)
    try:
        tasks = [create(client, f"u-cut-{n}") for n in range(5)]
        wait_for("failed tasks", lambda: all(task(client, t)["status"] == "failed" for t in tasks))
    finally:
        stack.toxiproxy.update_proxy("s3", enabled=True)
    time.sleep(0.5)
    assert not any(task(client, t)["status"] == "done" for t in tasks), "retried without replay"
    replay = client.post("/admin/exports/replay").raise_for_status().json()
    assert set(tasks) <= set(replay["replayed"])
    wait_for("the replayed tasks", lambda: done(client, *tasks))
    assert [versions(stack, t) for t in tasks] == [1] * 5
    assert [task(client, t)["attempts"] for t in tasks] == [2] * 5
    again = client.post("/admin/exports/replay").raise_for_status().json()
    assert not set(tasks) & set(again["replayed"]), "a completed task was replayed again"


def test_an_artifact_stored_before_the_worker_died_is_not_written_again(stack, client):
    stack.export_worker.stop()
    try:
        task_id = create(client, "u-reuse")
        # what a worker that died after its upload left: the artifact, no completion
        [(user, created_at)] = stack.pg.primary.query(
            "SELECT user_id, created_at FROM exports.tasks WHERE id = %s", (task_id,), dbname=APP_DB
        )
        artifact = render(task_id, user, created_at, [])
        stack.storage.primary.client().put_object(
            Bucket=EXPORTS_BUCKET,
            Key=artifact.key,
            Body=artifact.body,
            Metadata={"sha256": artifact.sha256},
        )
    finally:
        stack.export_worker.start()
    wait_for("the export", lambda: done(client, task_id))
    assert task(client, task_id)["sha256"] == artifact.sha256
    assert versions(stack, task_id) == 1
    [(outcome,)] = stack.pg.primary.query(
        "SELECT outcome FROM exports.attempts WHERE task_id = %s", (task_id,), dbname=APP_DB
    )
    assert outcome == "reused"


def consumer_lag(client: httpx.Client) -> float:
    [line] = exposed(client, "exports_consumer_lag_seconds")
    return float(line.split()[-1])


def test_a_task_interrupted_by_a_kill_is_replayed_from_the_snapshot(stack, client):
    traces = dict(traced_create(client, f"u-kill-{n}") for n in range(30))
    tasks = list(traces)
    worker = stack.export_worker
    killed, entry, _ = worker.kill_mid_task(lambda consumer: task_in_hand(stack, consumer), 10.0)
    worker.start()
    wait_for("the tasks not killed", lambda: done(client, *(t for t in tasks if t != killed)))
    assert task(client, killed)["status"] == "running"
    time.sleep(MIN_IDLE_S)
    # the plan's consumer lag: the killed task's entry has waited since it was queued
    queued_s = entry_order(entry)[0] / 1000
    assert consumer_lag(client) >= time.time() - queued_s - 1.0 >= MIN_IDLE_S - 1.0
    # and the page would name the request that queued it
    [oldest] = exposed(client, "exports_oldest_waiting_queued_timestamp_seconds")
    assert f'trace_id="{traces[killed]}"' in oldest, oldest
    replay = client.post("/admin/exports/replay").raise_for_status().json()
    assert killed in replay["replayed"], replay
    wait_for("the killed task", lambda: done(client, killed))
    assert versions(stack, killed) == 1
    assert consumer_lag(client) == 0.0
    pending = stack.redis.primary.client().xpending_range(STREAM, GROUP, "-", "+", 10_000)
    assert entry not in {p["message_id"].decode() for p in pending}


def test_the_stream_stays_bounded_as_tasks_are_done_and_snapshots_taken(stack, client):
    assert pending_count(stack) == 0, "an earlier test left a task pending"
    rounds = []
    for _ in range(3):
        tasks = [create(client, f"u-bound-{n % 10}") for n in range(60)]
        wait_for("the tasks", partial(completed, stack, tasks), 60.0)
        before = stream(stack)["length"]
        # all delivered, none pending: the stream keeps the last delivered entry alone
        wait_for("the stream trimmed", lambda: stream(stack)["length"] == 1, TRIM_WAIT_S)
        info = stream(stack)
        rounds.append((info["entries-added"], before, info["length"]))
        assert first_entry(stack) == next(
            g["last-delivered-id"].decode()
            for g in stack.redis.primary.client().xinfo_groups(STREAM)
            if g["name"].decode() == GROUP
        )
    print(f"entries added, length before and after trimming, per round: {rounds}")
    assert rounds[-1][0] >= 180
    [(snapshots,)] = stack.pg.primary.query(
        "SELECT count(*) FROM exports.queue_snapshots", dbname=APP_DB
    )
    # those of the last RETENTION_S, and the one taken just before that span began
    assert snapshots <= RETENTION_S / SNAPSHOT_INTERVAL_S + 2, snapshots


def test_a_stopped_workers_consumer_holding_nothing_is_removed(stack):
    worker = stack.export_worker
    stopped = worker.consumer
    worker.stop()
    assert worker.consumers().get(stopped) == 0, "the stopped worker is listed, holding nothing"
    worker.start()
    wait_for(f"{stopped} removed", lambda: stopped not in worker.consumers(), TRIM_WAIT_S)
    assert worker.consumer in worker.consumers()


def test_an_interrupted_task_is_kept_through_trimming_and_replayed(stack, client):
    worker = stack.export_worker
    earlier = [create(client, f"u-trim-{n}") for n in range(20)]
    wait_for("the earlier tasks", lambda: completed(stack, earlier), 60.0)
    tasks = [create(client, f"u-trim-{n}") for n in range(30)]
    dead = worker.consumer
    killed, entry, _ = worker.kill_mid_task(lambda consumer: task_in_hand(stack, consumer), 10.0)
    worker.start()
    rest = [t for t in tasks if t != killed]
    wait_for("the tasks not killed", lambda: completed(stack, rest), 60.0)
    # everything older than the interrupted task's entry goes, the entry itself stays
    wait_for("the stream trimmed to the entry", lambda: first_entry(stack) == entry, TRIM_WAIT_S)
    info = stream(stack)
    assert info["entries-added"] - info["length"] >= len(earlier), info
    # the killed worker stays in the group, idle as it is, with what it held
    time.sleep(CONSUMER_IDLE_S + SNAPSHOT_INTERVAL_S)
    assert worker.consumers().get(dead) == 1
    assert first_entry(stack) == entry
    replay = client.post("/admin/exports/replay").raise_for_status().json()
    assert killed in replay["replayed"], replay
    wait_for("the killed task", lambda: done(client, killed))
    assert versions(stack, killed) == 1
    # settled by the replay: the dead consumer goes, and the stream is trimmed past its entry
    wait_for(f"{dead} removed", lambda: dead not in worker.consumers(), TRIM_WAIT_S)
    wait_for(
        "the stream trimmed past the entry",
        lambda: entry_order(first_entry(stack) or "0-0") > entry_order(entry),
        TRIM_WAIT_S,
    )


def test_an_entry_of_a_done_task_held_by_a_dead_consumer_is_settled_by_the_replay(stack, client):
    task_id = create(client, "u-settle")
    wait_for("the export", lambda: done(client, task_id))
    worker, redis = stack.export_worker, stack.redis.primary.client()
    worker.stop()
    try:
        # what a worker killed between completing the task and acknowledging its entry left
        entry = redis.xadd(STREAM, {"task": task_id}).decode()
        dead = "worker-1"
        [(_, [(delivered, _)])] = redis.xreadgroup(GROUP, dead, {STREAM: ">"}, count=1)
        assert delivered.decode() == entry
    finally:
        worker.start()
    time.sleep(CONSUMER_IDLE_S + SNAPSHOT_INTERVAL_S)
    assert worker.consumers().get(dead) == 1, "a consumer holding an entry is left for the replay"
    replay = client.post("/admin/exports/replay").raise_for_status().json()
    assert entry in replay["settled"], replay
    assert task_id not in replay["replayed"]
    wait_for(f"{dead} removed", lambda: dead not in worker.consumers(), TRIM_WAIT_S)
    assert task(client, task_id)["attempts"] == 1
