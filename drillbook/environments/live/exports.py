"""The live export queue: its records read by SQL and S3, its worker killed by a binding."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from drillbook.capabilities.exports import WORKER
from drillbook.capabilities.operation import Operation
from drillbook.checks.exports import ExportRecord
from drillbook.environments.common import ARTIFACTS, converted, export_records, replay_exports
from drillbook.environments.live.database import LiveDatabase
from drillbook.environments.live.storage import LiveStorage
from drillbook.glancy import GlancyClient
from drillbook.objects import ObjectState, latest_objects

if TYPE_CHECKING:  # the capabilities only call what a Bindings offers
    from drillbook.environments.live.bindings import Bindings

# What the kill binding must report: the steps remember the task and attach the rest.
KILLED = ("pid", "task", "stream_entry", "attempt_started_at")


class LiveExportQueue:
    """`bucket`: the exports bucket of the storage regions (live.endpoints.storage)."""

    def __init__(
        self,
        api: GlancyClient,
        database: LiveDatabase,
        storage: LiveStorage,
        bucket: str,
        bindings: Bindings,
    ) -> None:
        self.api = api
        self.database = database
        self.storage = storage
        self.bucket = bucket
        self.bindings = bindings

    def kill_worker_mid_task(self, timeout_s: float) -> Operation[dict[str, Any]]:
        operation = self.bindings.operation(
            "exports.kill_worker_mid_task", "kill -9", WORKER, {"timeout_s": timeout_s}
        )
        return converted(operation, killed_task)

    def records(self) -> dict[str, ExportRecord]:
        client = self.storage.client(self.storage.primary_region)
        return export_records(self.database.primary(), client, self.bucket)

    def replay(self) -> Operation[dict[str, Any]]:
        return replay_exports(self.api)

    def downloaded(self, task_id: str) -> bytes:
        return self.api.downloaded(task_id)

    def artifacts(self, region: str) -> dict[str, ObjectState]:
        return latest_objects(self.storage.client(region), self.bucket, ARTIFACTS)


def killed_task(answer: Any) -> dict[str, Any]:
    """The exports.kill_worker_mid_task binding's answer, which must name what was killed."""
    if not isinstance(answer, dict) or any(key not in answer for key in KILLED):
        raise ValueError(
            f"the exports.kill_worker_mid_task binding must answer JSON with {list(KILLED)}, "
            f"not {answer!r}"
        )
    return answer
