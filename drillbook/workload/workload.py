"""The set of clients that run during a drill, started and stopped together."""

from __future__ import annotations

from types import TracebackType
from typing import TypeVar

from drillbook.workload.history import History
from drillbook.workload.paced import PacedWorker

W = TypeVar("W", bound=PacedWorker)


class Workload:
    """Probes and writers recording into one history."""

    def __init__(self, history: History) -> None:
        self.history = history
        self._workers: list[PacedWorker] = []
        self._started = False

    @property
    def running(self) -> bool:
        """Whether any client is recording."""
        return any(worker.running for worker in self._workers)

    @property
    def workers(self) -> tuple[PacedWorker, ...]:
        return tuple(self._workers)

    def add(self, worker: W) -> W:
        """Adds a probe or writer; it starts now if the workload already has."""
        self._workers.append(worker)
        if self._started:
            worker.start()
        return worker

    def start(self) -> None:
        self._started = True
        for worker in self._workers:
            worker.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Stops every client, even when one of them fails to stop; then reports the failures.
        Each is waited for at least `timeout`, and longer while its operation in flight is
        within its client's timeouts (PacedWorker.stop)."""
        self._started = False
        problems = []
        for worker in self._workers:
            try:
                worker.stop(timeout)
            except (TimeoutError, RuntimeError) as exc:
                problems.append(exc)
        if problems:
            raise RuntimeError(
                "workload did not stop cleanly: " + "; ".join(str(p) for p in problems)
            ) from problems[0]

    def __enter__(self) -> Workload:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
