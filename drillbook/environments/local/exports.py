"""The local export queue: the export worker process and the tasks the service recorded."""

from __future__ import annotations

from functools import partial
from typing import Any

from drillbook.capabilities.exports import WORKER
from drillbook.capabilities.operation import Operation, fault
from drillbook.checks.exports import ExportRecord
from drillbook.environments.common import ARTIFACTS, export_records, replay_exports
from drillbook.environments.local.database import LocalInstance
from drillbook.environments.local.heal import heal_export_worker
from drillbook.environments.local.storage import LocalStorage
from drillbook.glancy import GlancyClient
from drillbook.glancy_sql import TASK_IN_HAND
from drillbook.objects import ObjectState, latest_objects
from drillbook.stack import LocalStack
from drillbook.stack.objectstore import EXPORTS_BUCKET
from drillbook.stack.postgres import APP_DB


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
        primary = LocalInstance(self.stack.pg.primary)
        client = self.storage.client(self.storage.primary_region)
        return export_records(primary, client, EXPORTS_BUCKET)

    def replay(self) -> Operation[dict[str, Any]]:
        return replay_exports(self.api)

    def downloaded(self, task_id: str) -> bytes:
        return self.api.downloaded(task_id)

    def artifacts(self, region: str) -> dict[str, ObjectState]:
        return latest_objects(self.storage.client(region), EXPORTS_BUCKET, ARTIFACTS)


def task_in_hand(stack: LocalStack, consumer: str) -> tuple | None:
    """The task the worker `consumer` has started and not finished, if any: (task id, stream
    entry, when the attempt started)."""
    rows = stack.pg.primary.query(TASK_IN_HAND, (consumer,), dbname=APP_DB)
    return rows[0] if rows else None
