"""The export task queue and its worker (plan section 2: exports RTO 15 min)."""

from __future__ import annotations

from typing import Any, Protocol

from drillbook.capabilities.operation import Operation
from drillbook.checks.exports import ExportRecord
from drillbook.objects import ObjectState

# The target the worker's faults are journaled under: `drill.restore(WORKER)` ends them.
WORKER = "export worker"
# The kind of the replay's remediation: `drill.remediations(REPLAY)` finds it in the history.
REPLAY = "replay exports"


class ExportQueue(Protocol):
    def kill_worker_mid_task(self, timeout_s: float) -> Operation[dict[str, Any]]:
        """The worker frozen until it holds a task, then killed with SIGKILL; its result:
        the pid, the task and its stream entry. Reverted by starting a new worker. Its
        target is WORKER."""
        ...

    def records(self) -> dict[str, ExportRecord]:
        """Every task as the database and the primary region's bucket hold it."""
        ...

    def replay(self) -> Operation[dict[str, Any]]:
        """POST /admin/exports/replay: re-enqueue what failed or was interrupted; its result
        lists the re-enqueued task ids under "replayed". Its kind is REPLAY."""
        ...

    def downloaded(self, task_id: str) -> bytes:
        """GET /exports/{task_id}, then its download link, as a user holding the task does;
        raises (drillbook.glancy.ServiceCallError) naming what a user would have seen."""
        ...

    def artifacts(self, region: str) -> dict[str, ObjectState]:
        """Each export artifact's latest version as the region's bucket serves it, by key,
        downloaded and hashed."""
        ...
