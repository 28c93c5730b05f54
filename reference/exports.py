"""The export task queue as the service sees it: accept a task, report it, replay lost ones.

A task is a row of ``exports.tasks`` and an entry of the Redis stream STREAM, which the export
workers (reference.export_worker) read as the consumer group GROUP. Accepting one never
touches object storage, so ``POST /exports`` stays fast while storage is down.

A worker acknowledges an entry once its task is complete; an entry whose task failed, or whose
worker died mid-task, stays pending. The workers snapshot the group's offsets (last delivered
id and pending entries) into ``exports.queue_snapshots``; a replay scans the stream from the
latest snapshot on and re-enqueues every task PostgreSQL does not have as done and no worker
is still working on.

The stream is trimmed by the workers to the oldest entry a replay from a retained snapshot, or
a pending entry, still needs (reference.export_worker.ExportWorker.trim), and a consumer that
has been idle for long and holds nothing is removed from the group; one that holds entries
(a worker killed mid-task) stays until a replay has settled them.
"""

from __future__ import annotations

import uuid
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime

from psycopg import AsyncConnection
from redis.asyncio import Redis
from redis.exceptions import ResponseError

from reference import tracing
from reference.database import Database, DatabaseUnavailable

STREAM = "glancy:exports"
GROUP = "export-workers"
KINDS = ("history",)
_PAGE = 500

_DELETE = "DELETE FROM exports.tasks WHERE id = %s"
_STATUS = """
SELECT t.id, t.user_id, t.kind, t.status, t.attempts, t.last_error, t.created_at,
       c.object_key, c.version_id, c.sha256, c.size, c.completed_at
FROM exports.tasks t LEFT JOIN exports.completions c ON c.task_id = t.id
WHERE t.id = %s
"""
_LATEST_SNAPSHOT = """
SELECT id, taken_at, last_delivered_id, pending FROM exports.queue_snapshots
ORDER BY taken_at DESC, id DESC LIMIT 1
"""
_STATES = """
SELECT t.id, CASE WHEN c.task_id IS NULL THEN t.status ELSE 'done' END
FROM exports.tasks t LEFT JOIN exports.completions c ON c.task_id = t.id
WHERE t.id = ANY(%s)
"""


class NoSnapshot(Exception):
    """No offset snapshot was ever taken: there is nothing to replay from."""


@dataclass(frozen=True)
class Snapshot:
    id: int
    taken_at: datetime
    last_delivered_id: str
    pending: list[list]  # [entry id, consumer, idle ms, deliveries]

    def as_dict(self) -> dict:
        return {
            "id": self.id,
            "taken_at": self.taken_at.timestamp(),
            "last_delivered_id": self.last_delivered_id,
            "pending": len(self.pending),
        }


async def create(db: Database, redis: Redis, user: str, kind: str) -> dict:
    """Record and queue a task; its id is the answer. Raises if either cannot be done."""
    task_id = uuid.uuid4().hex

    async def insert(conn: AsyncConnection) -> None:
        await conn.execute(
            "INSERT INTO exports.tasks (id, user_id, kind) VALUES (%s, %s, %s)",
            (task_id, user, kind),
        )

    # committed before it is queued, so a worker never reads a task it cannot find
    await db.run(insert)
    try:
        # the request's trace goes with the entry: a consumer-lag page names the oldest waiting
        await redis.xadd(STREAM, {"task": task_id, "trace_id": tracing.current.get() or ""})
    except Exception:
        # not queued, so not accepted: the row goes (a worker skips an entry without one)
        with suppress(DatabaseUnavailable):
            await db.run(lambda conn: conn.execute(_DELETE, (task_id,)))
        raise
    return {"id": task_id, "status": "queued"}


async def status(db: Database, task_id: str) -> dict | None:
    async def read(conn: AsyncConnection) -> tuple | None:
        return await (await conn.execute(_STATUS, (task_id,))).fetchone()

    row = await db.run(read)
    if row is None:
        return None
    (id_, user, kind, state, attempts, error, created, key, version, sha, size, completed) = row
    return {
        "id": id_,
        "user": user,
        "kind": kind,
        "status": "done" if completed else state,
        "attempts": attempts,
        "last_error": error,
        "created_at": created.timestamp(),
        "object_key": key,
        "version_id": version,
        "sha256": sha,
        "size": size,
        "completed_at": completed.timestamp() if completed else None,
    }


async def replay(db: Database, redis: Redis, min_idle_s: float) -> dict:
    """Re-enqueue the tasks lost from the latest offset snapshot on.

    Each task's latest entry from the snapshot on decides: its task done, nothing to do; not
    delivered yet, a worker will get it; pending and delivered less than `min_idle_s` ago to a
    task that has not failed, a worker is on it. Any other task failed or was interrupted: a
    new entry is added and the old one acknowledged, in one transaction.

    An entry still pending for a task that is done (its worker died between completing it and
    acknowledging it) or that the service never accepted is acknowledged too ("settled"):
    there is nothing to replay, and left pending it would keep its dead consumer in the group
    and the stream from being trimmed past it forever.
    """
    snapshot = await db.run(_latest_snapshot)
    if snapshot is None:
        raise NoSnapshot("no offset snapshot of the export queue was ever taken")
    entries = await _entries_from(redis, _scan_start(snapshot))
    latest: dict[str, str] = {}  # task -> its latest entry (ids ascend)
    for entry_id, task in entries:
        latest[task] = entry_id
    delivered_to = await _last_delivered(redis)
    pending = {
        p["message_id"]: p
        for p in await redis.xpending_range(STREAM, GROUP, min="-", max="+", count=100_000)
    }
    states = await db.run(lambda conn: _states(conn, list(latest)))
    settled = [e for e, task in entries if e in pending and states.get(task) in (None, "done")]
    replayed, in_flight, waiting = [], [], []
    for task, entry_id in latest.items():
        state = states.get(task)
        if state in (None, "done"):  # None: a task the service never accepted
            continue
        if entry_order(entry_id) > entry_order(delivered_to):
            waiting.append(task)
            continue
        entry = pending.get(entry_id)
        if entry and state != "failed" and entry["time_since_delivered"] < min_idle_s * 1000:
            in_flight.append(task)
            continue
        replayed.append((task, entry_id))
    if replayed or settled:
        async with redis.pipeline(transaction=True) as pipe:
            for task, entry_id in replayed:
                pipe.xadd(STREAM, {"task": task, "replay_of": entry_id})
                pipe.xack(STREAM, GROUP, entry_id)
            if settled:
                pipe.xack(STREAM, GROUP, *settled)
            await pipe.execute()
    return {
        "snapshot": snapshot.as_dict(),
        "scanned_tasks": len(latest),
        "replayed": [task for task, _ in replayed],
        "in_flight": in_flight,
        "not_yet_delivered": waiting,
        "settled": settled,
    }


async def _latest_snapshot(conn: AsyncConnection) -> Snapshot | None:
    row = await (await conn.execute(_LATEST_SNAPSHOT)).fetchone()
    return Snapshot(*row) if row else None


async def _states(conn: AsyncConnection, tasks: list[str]) -> dict[str, str]:
    return dict(await (await conn.execute(_STATES, (tasks,))).fetchall())


def _scan_start(snapshot: Snapshot) -> str:
    """The oldest entry pending at the snapshot, else the first one delivered after it."""
    if snapshot.pending:
        return min((p[0] for p in snapshot.pending), key=entry_order)
    return f"({snapshot.last_delivered_id}"


async def _entries_from(redis: Redis, start: str) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    while page := await redis.xrange(STREAM, min=start, max="+", count=_PAGE):
        found += [(entry_id, fields["task"]) for entry_id, fields in page]
        start = f"({page[-1][0]}"
    return found


@dataclass(frozen=True)
class Lag:
    """The consumer lag, and the oldest waiting task's entry: when it was queued and the trace
    id of the request that queued it (None when none waits, or its entry has no trace)."""

    seconds: float
    queued_at: float | None = None
    trace_id: str | None = None


async def consumer_lag(redis: Redis, now: float) -> Lag | None:
    """The plan's consumer lag (section 2, 消费延迟): how long the oldest task no worker has
    finished has waited, by its entry's id (the time it was queued): the oldest entry
    delivered and not acknowledged (a worker died mid-task or its task failed), or else the
    first not yet delivered. 0 when every entry is done; None before any worker ran."""
    try:
        last_delivered = await _last_delivered(redis)
    except (NoSnapshot, ResponseError):  # no group yet, or no stream
        return None
    waiting = []
    summary = await redis.xpending(STREAM, GROUP)
    if summary["pending"]:
        waiting.append(summary["min"])
    if undelivered := await redis.xrange(STREAM, min=f"({last_delivered}", max="+", count=1):
        waiting.append(undelivered[0][0])
    if not waiting:
        return Lag(0.0)
    oldest = min(waiting, key=entry_order)
    queued_at = entry_order(oldest)[0] / 1000
    entry = await redis.xrange(STREAM, min=oldest, max=oldest, count=1)
    trace = entry[0][1].get("trace_id") if entry else None
    return Lag(max(0.0, now - queued_at), queued_at, trace or None)


async def _last_delivered(redis: Redis) -> str:
    for group in await redis.xinfo_groups(STREAM):
        if group["name"] == GROUP:
            return group["last-delivered-id"]
    raise NoSnapshot(f"stream {STREAM} has no consumer group {GROUP}: no worker ever ran")


def entry_order(entry_id: str) -> tuple[int, int]:
    """A stream id as a sortable pair ("1700000000000-3" -> (1700000000000, 3)); a leading
    "(" (exclusive range start) is ignored."""
    millis, _, seq = entry_id.lstrip("(").partition("-")
    return int(millis), int(seq or 0)
