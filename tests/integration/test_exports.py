"""The export chain on the local stack: the service and the export worker against real
PostgreSQL, Redis and MinIO, with object storage cut at its Toxiproxy proxy."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterator

import httpx
import pytest

from drillbook.objects import version_counts
from drillbook.stack import LocalSettings, LocalStack
from drillbook.stack.objectstore import EXPORTS_BUCKET
from drillbook.stack.postgres import APP_DB
from reference.artifacts import render
from reference.exports import GROUP, STREAM
from steps.exports import task_in_hand
from tests.integration.conftest import running_stack

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]

# a task delivered this long ago and not finished counts as interrupted
MIN_IDLE_S = 1.0


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    with running_stack(LocalSettings(export_replay_min_idle_s=MIN_IDLE_S)) as local:
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
    started = time.monotonic()
    response = client.post("/exports", json={"user": user})
    assert response.status_code == 202, response.text
    assert time.monotonic() - started < 1.0, "POST /exports must only record and queue"
    return response.json()["id"]


def task(client: httpx.Client, task_id: str) -> dict:
    return client.get(f"/exports/{task_id}").raise_for_status().json()


def done(client: httpx.Client, *task_ids: str) -> bool:
    return all(task(client, t)["status"] == "done" for t in task_ids)


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


def test_a_task_interrupted_by_a_kill_is_replayed_from_the_snapshot(stack, client):
    tasks = [create(client, f"u-kill-{n}") for n in range(30)]
    worker = stack.export_worker
    killed, entry, _ = worker.kill_mid_task(lambda consumer: task_in_hand(stack, consumer), 10.0)
    worker.start()
    wait_for("the tasks not killed", lambda: done(client, *(t for t in tasks if t != killed)))
    assert task(client, killed)["status"] == "running"
    time.sleep(MIN_IDLE_S)
    replay = client.post("/admin/exports/replay").raise_for_status().json()
    assert killed in replay["replayed"], replay
    wait_for("the killed task", lambda: done(client, killed))
    assert versions(stack, killed) == 1
    pending = stack.redis.primary.client().xpending_range(STREAM, GROUP, "-", "+", 10_000)
    assert entry not in {p["message_id"].decode() for p in pending}
