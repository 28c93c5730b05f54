"""``python -m reference.export_worker --config path.json``: the export worker.

It reads tasks as consumer ``worker-<pid>`` of the export queue's group (reference.exports),
renders each task's artifact, stores it in the bucket, records the completion in PostgreSQL and
only then acknowledges the entry. A task whose artifact cannot be stored is marked failed and
its entry stays pending; so does the entry of a task whose worker dies mid-task. Both wait for a
replay (reference.exports.replay), which this worker makes possible by snapshotting the group's
offsets every `exports.snapshot_interval_s`, in PostgreSQL and as a copy in the bucket under
``dr-offset/exports/`` (the seed's offset files), when the store answers.

After each snapshot it keeps the queue bounded: snapshots older than
`exports.snapshot_retention_s` are deleted, the stream is trimmed to the oldest entry a replay
from a retained snapshot or a pending entry still needs (`ExportWorker.trim`), and consumers
idle for `exports.consumer_idle_limit_s` that hold no entry (stopped workers) are removed from
the group. A consumer that holds entries, a worker killed mid-task, stays: what it held waits
for a replay, which acknowledges it, and the consumer goes at a later round.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import threading
import time

import psycopg
from botocore.exceptions import BotoCoreError, ClientError
from psycopg_pool import ConnectionPool, PoolTimeout
from redis import Redis
from redis.backoff import NoBackoff
from redis.exceptions import RedisError, ResponseError
from redis.retry import Retry

from reference.artifacts import render, s3_client, store
from reference.config import ConfigError, ServiceConfig, load_config
from reference.dsn import mask
from reference.exports import GROUP, STREAM, entry_order

# how long one read of the queue waits for a task
BLOCK_S = 0.2
# after a database or queue error, before trying again
RETRY_S = 1.0
SNAPSHOT_PREFIX = "dr-offset/exports/"

_TASK = """
SELECT t.user_id, t.created_at, c.task_id IS NOT NULL
FROM exports.tasks t LEFT JOIN exports.completions c ON c.task_id = t.id
WHERE t.id = %s
"""
_START = """
INSERT INTO exports.attempts (task_id, entry_id, worker) VALUES (%s, %s, %s) RETURNING id
"""
_RUNNING = """
UPDATE exports.tasks SET status = 'running', attempts = attempts + 1,
       updated_at = clock_timestamp()
WHERE id = %s
"""
_HISTORY = """
SELECT word, looked_up_at FROM lookups WHERE user_id = %s AND looked_up_at <= %s
ORDER BY looked_up_at, id
"""
_COMPLETE = """
INSERT INTO exports.completions (task_id, object_key, version_id, sha256, size)
VALUES (%s, %s, %s, %s, %s) ON CONFLICT (task_id) DO NOTHING RETURNING task_id
"""
_FINISH = """
UPDATE exports.attempts SET outcome = %s, error = %s, finished_at = clock_timestamp()
WHERE id = %s
"""
_DONE = "UPDATE exports.tasks SET status = 'done', updated_at = clock_timestamp() WHERE id = %s"
_FAILED = """
UPDATE exports.tasks SET status = 'failed', last_error = %s, updated_at = clock_timestamp()
WHERE id = %s AND status <> 'done'
"""
_SNAPSHOT = """
INSERT INTO exports.queue_snapshots (last_delivered_id, pending) VALUES (%s, %s)
RETURNING taken_at
"""
# the seed keeps the replay logs 7 days (exports.snapshot_retention_s)
_PRUNE = "DELETE FROM exports.queue_snapshots WHERE taken_at < now() - make_interval(secs => %s)"
# The oldest entry a replay from any retained snapshot can read: a replay scans from the
# snapshot's oldest pending entry, else from after its last delivered id, and a last delivered
# id is never older than an entry pending beside it, so the smallest of all those ids.
_NEEDED = """
SELECT id FROM (
    SELECT last_delivered_id FROM exports.queue_snapshots
    UNION ALL
    SELECT entry ->> 0 FROM exports.queue_snapshots, jsonb_array_elements(pending) entry
) needed (id)
ORDER BY split_part(id, '-', 1)::numeric, split_part(id, '-', 2)::numeric
LIMIT 1
"""
# Removes, in one step so that no delivery can come in between, every consumer of group
# ARGV[1] idle for at least ARGV[2] ms that holds no entry, except ARGV[3] (the caller);
# returns their names. A removed worker that was only slow is recreated by its next read.
_FORGET_IDLE = """
local removed = {}
for _, consumer in ipairs(redis.call('XINFO', 'CONSUMERS', KEYS[1], ARGV[1])) do
    local field = {}
    for i = 1, #consumer, 2 do field[consumer[i]] = consumer[i + 1] end
    if field.pending == 0 and field.idle >= tonumber(ARGV[2]) and field.name ~= ARGV[3] then
        redis.call('XGROUP', 'DELCONSUMER', KEYS[1], ARGV[1], field.name)
        removed[#removed + 1] = field.name
    end
end
return removed
"""

log = logging.getLogger("reference.export_worker")


def consumer_name(pid: int) -> str:
    """A worker's name in the group: a restarted worker is a new consumer, so what a dead one
    held stays pending until a replay."""
    return f"worker-{pid}"


class ExportWorker:
    def __init__(self, config: ServiceConfig) -> None:
        if config.exports is None:
            raise ConfigError("the config has no 'exports' section")
        self.exports = config.exports
        self.consumer = consumer_name(os.getpid())
        db = config.database
        self.pool = ConnectionPool(
            db.dsn,
            min_size=1,
            max_size=1,
            timeout=db.pool_timeout_s,
            reconnect_timeout=3.0,
            check=ConnectionPool.check_connection,
            kwargs={
                "connect_timeout": max(2, db.connect_timeout_s),
                "options": f"-c statement_timeout={db.statement_timeout_ms}",
                "application_name": "glancy-export-worker",
            },
            open=False,
        )
        self.redis = Redis.from_url(
            config.redis.url,
            socket_timeout=config.redis.socket_timeout_s + BLOCK_S,
            socket_connect_timeout=config.redis.socket_timeout_s,
            retry=Retry(NoBackoff(), 0),
            decode_responses=True,
        )
        self._forget_idle = self.redis.register_script(_FORGET_IDLE)
        self.s3 = s3_client(self.exports)
        self.stopping = threading.Event()
        self._storage_failing = False
        self._copied: tuple | None = None  # the offsets last copied to the bucket

    def run(self) -> None:
        """Work until `stopping` is set; a database or queue outage is waited out."""
        self.pool.open(wait=False)
        next_snapshot = time.monotonic()
        log.warning("export worker %s started", self.consumer)
        joined = False  # again after an error: the queue may have been rebuilt meanwhile
        try:
            while not self.stopping.is_set():
                try:
                    if not joined:
                        self._join_group()
                        joined = True
                    if time.monotonic() >= next_snapshot:
                        self.snapshot()
                        self.trim()
                        self.forget_idle_consumers()
                        next_snapshot = time.monotonic() + self.exports.snapshot_interval_s
                    for entry_id, fields in self._read():
                        self.process(entry_id, fields["task"])
                except (RedisError, psycopg.Error, PoolTimeout) as exc:
                    log.warning(
                        "%s; retrying in %g s", mask(f"{type(exc).__name__}: {exc}"), RETRY_S
                    )
                    joined = False
                    self.stopping.wait(RETRY_S)
        finally:
            self.pool.close(timeout=1.0)
            self.redis.close()

    def _join_group(self) -> None:
        """The group (from the stream's start, so no task queued before it is missed) and this
        worker in it: a consumer that is listed is one that reads."""
        try:
            self.redis.xgroup_create(STREAM, GROUP, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise
        self.redis.xgroup_createconsumer(STREAM, GROUP, self.consumer)

    def _read(self) -> list[tuple[str, dict]]:
        answer = self.redis.xreadgroup(
            GROUP, self.consumer, {STREAM: ">"}, count=1, block=int(BLOCK_S * 1000)
        )
        return answer[0][1] if answer else []

    def process(self, entry_id: str, task_id: str) -> None:
        """One delivery of a task: complete it at most once, acknowledge it only then."""
        with self.pool.connection() as conn:
            task = conn.execute(_TASK, (task_id,)).fetchone()
        if task is None or task[2]:
            # never accepted (its row was rolled back), or a delivery of a completed task
            self.redis.xack(STREAM, GROUP, entry_id)
            return
        user, created_at, _ = task
        with self.pool.connection() as conn:
            [(attempt,)] = conn.execute(_START, (task_id, entry_id, self.consumer)).fetchall()
            conn.execute(_RUNNING, (task_id,))
            lookups = conn.execute(_HISTORY, (user, created_at)).fetchall()
        artifact = render(task_id, user, created_at, lookups)
        try:
            stored = store(self.s3, self.exports.bucket, artifact)
        except (BotoCoreError, ClientError) as exc:
            error = f"{type(exc).__name__}: {exc}"[:500]
            with self.pool.connection() as conn:
                conn.execute(_FINISH, ("failed", error, attempt))
                conn.execute(_FAILED, (error, task_id))
            self._storage(failing=error)
            return  # the entry stays pending: a replay delivers it again
        self._storage(failing=None)
        with self.pool.connection() as conn:
            first = conn.execute(
                _COMPLETE,
                (task_id, artifact.key, stored.version_id, artifact.sha256, len(artifact.body)),
            ).fetchone()
            outcome = "duplicate" if first is None else "reused" if stored.reused else "done"
            conn.execute(_FINISH, (outcome, None, attempt))
            conn.execute(_DONE, (task_id,))
        self.redis.xack(STREAM, GROUP, entry_id)

    def snapshot(self) -> None:
        """The group's offsets: in PostgreSQL, and a copy in the bucket if the store answers."""
        group = next(g for g in self.redis.xinfo_groups(STREAM) if g["name"] == GROUP)
        pending = [
            [p["message_id"], p["consumer"], p["time_since_delivered"], p["times_delivered"]]
            for p in self.redis.xpending_range(STREAM, GROUP, min="-", max="+", count=100_000)
        ]
        offsets = {"last_delivered_id": group["last-delivered-id"], "pending": pending}
        with self.pool.connection() as conn:
            [(taken_at,)] = conn.execute(
                _SNAPSHOT, (offsets["last_delivered_id"], json.dumps(pending))
            ).fetchall()
            conn.execute(_PRUNE, (self.exports.snapshot_retention_s,))
        # a new offset file only when the offsets moved, not every few seconds of an idle queue
        moved = (offsets["last_delivered_id"], *(p[0] for p in pending))
        if moved == self._copied:
            return
        key = f"{SNAPSHOT_PREFIX}{taken_at:%Y%m%dT%H%M%S.%f}Z.json"
        body = json.dumps({"taken_at": taken_at.timestamp(), **offsets}).encode()
        try:
            self.s3.put_object(Bucket=self.exports.bucket, Key=key, Body=body)
        except (BotoCoreError, ClientError) as exc:
            self._storage(failing=f"{type(exc).__name__}: {exc}")
        else:
            self._storage(failing=None)
            self._copied = moved

    def trim(self) -> str | None:
        """Trim the stream to the oldest entry still needed (XTRIM MINID); returns that id.

        That id is the smallest of: what a replay from each retained snapshot reads first
        (`_NEEDED`), and the oldest entry pending now. Nothing younger is lost, and nothing
        any replay reads is older:
        - a replay scans from the latest snapshot's start, which is one of those retained;
          a snapshot taken later starts no earlier, as what is pending then is pending now or
          delivered after now, above every last delivered id recorded so far;
        - an entry not yet delivered is above the group's last delivered id, itself no older
          than the latest snapshot's;
        - an entry pending now (its task failed, or its worker died) is kept until a replay
          acknowledges it, even when the snapshots that listed it are gone;
        - new entries (tasks, replays) get ids above every existing one.
        The stream so keeps what the snapshots of `exports.snapshot_retention_s` need: a
        PostgreSQL restored to a point within that span replays from a snapshot it holds.
        Nothing is trimmed while no snapshot is retained.
        """
        with self.pool.connection() as conn:
            row = conn.execute(_NEEDED).fetchone()
        if row is None:
            return None
        needed = [row[0]]
        pending = self.redis.xpending(STREAM, GROUP)
        if pending["pending"]:
            needed.append(pending["min"])
        oldest = min(needed, key=entry_order)
        # exact, not "~": the stream keeps only what is needed, however its nodes are cut
        self.redis.xtrim(STREAM, minid=oldest, approximate=False)
        return oldest

    def forget_idle_consumers(self) -> list[str]:
        """Remove from the group the consumers idle beyond `exports.consumer_idle_limit_s`
        that hold no entry (XGROUP DELCONSUMER); returns their names.

        A worker killed mid-task is left in the group with what it held: its entries wait
        for a replay, and once the replay has acknowledged them it is removed in turn.
        """
        limit_ms = int(self.exports.consumer_idle_limit_s * 1000)
        removed = self._forget_idle(keys=[STREAM], args=[GROUP, limit_ms, self.consumer])
        for name in removed:
            log.warning(
                "consumer %s removed from group %s: idle over %g s, holding no entry",
                name,
                GROUP,
                self.exports.consumer_idle_limit_s,
            )
        return removed

    def _storage(self, failing: str | None) -> None:
        """Log once when the store starts failing and once when it answers again."""
        if failing and not self._storage_failing:
            log.warning("object storage failing, tasks stay pending for replay: %s", failing)
        elif not failing and self._storage_failing:
            log.warning("object storage answering again")
        self._storage_failing = failing is not None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m reference.export_worker", description=__doc__)
    parser.add_argument("--config", required=True, help="path of the JSON configuration file")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        worker = ExportWorker(load_config(args.config))
    except ConfigError as exc:
        print(f"export worker: {exc}", file=sys.stderr)
        return 2
    # SIGTERM ends the loop after the task in hand; SIGKILL is the drill's mid-task death
    signal.signal(signal.SIGTERM, lambda *_: worker.stopping.set())
    worker.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
