"""The local export queue: the export worker process and the tasks the service recorded."""

from __future__ import annotations

from functools import partial
from typing import Any

from drillbook.capabilities.exports import REPLAY, WORKER
from drillbook.capabilities.operation import Operation, fault, remediation
from drillbook.checks.exports import ExportRecord
from drillbook.environments.local.heal import heal_export_worker
from drillbook.environments.local.storage import LocalStorage
from drillbook.glancy import GlancyClient
from drillbook.objects import ObjectState, latest_objects, version_counts
from drillbook.stack import LocalStack
from drillbook.stack.objectstore import EXPORTS_BUCKET
from drillbook.stack.postgres import APP_DB

ARTIFACTS = "exports/"
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


class LocalExportQueue:
    def __init__(self, stack: LocalStack, api: GlancyClient, storage: LocalStorage) -> None:
        self.stack = stack
        self.api = api
        self.storage = storage

    def kill_worker_mid_task(self, timeout_s: float) -> Operation[dict[str, Any]]:
        worker = self.stack.export_worker
        pid = worker.pid()

        def kill() -> dict[str, Any]:
            task, entry, started = worker.kill_mid_task(
                partial(task_in_hand, self.stack), timeout_s
            )
            return {"pid": pid, "task": task, "stream_entry": entry, "attempt_started_at": started}

        return fault("kill -9", WORKER, kill, partial(heal_export_worker, self.stack), pid=pid)

    def records(self) -> dict[str, ExportRecord]:
        """Every task as the service's database and the primary region's versioned bucket
        hold it: its completion, the deliveries that reached completion, the writes of its
        artifact."""
        rows = self.stack.pg.primary.query(RECORDS, dbname=APP_DB)
        client = self.storage.client(self.storage.primary_region)
        versions = version_counts(client, EXPORTS_BUCKET, ARTIFACTS)
        return {
            task: ExportRecord(
                task, completed_at, completing, versions[key] if key else 0, key, sha
            )
            for task, completed_at, key, sha, completing in rows
        }

    def replay(self) -> Operation[dict[str, Any]]:
        return remediation(REPLAY, "export queue", self.api.replay_exports)

    def artifacts(self, region: str) -> dict[str, ObjectState]:
        return latest_objects(self.storage.client(region), EXPORTS_BUCKET, ARTIFACTS)


def task_in_hand(stack: LocalStack, consumer: str) -> tuple | None:
    """The task the worker `consumer` has started and not finished, if any: (task id, stream
    entry, when the attempt started)."""
    rows = stack.pg.primary.query(TASK_IN_HAND, (consumer,), dbname=APP_DB)
    return rows[0] if rows else None
