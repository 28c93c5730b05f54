"""The export worker (`python -m reference.export_worker`) as a subprocess of the local stack."""

from __future__ import annotations

import os
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import redis

from drillbook.stack.process import ManagedProcess
from drillbook.stack.service import write_config

REPO_ROOT = Path(__file__).resolve().parents[2]
# The queue as the service documents it (README, "The reference service"): the harness drives
# the worker from outside, as an operator would, so it names them rather than importing the
# service's code; tests/unit/test_export_config.py keeps the two in step.
STREAM = "glancy:exports"
GROUP = "export-workers"


def consumer_name(pid: int) -> str:
    """The worker's consumer in the group, named after its process."""
    return f"worker-{pid}"


T = TypeVar("T")


class ExportWorker:
    """One worker process. Its config is the service's (database, Redis, `exports`), shared
    with a replica, so a restart follows what an operator changed there."""

    def __init__(
        self,
        *,
        config: dict,
        redis_url: str,
        config_path: Path,
        log_path: Path,
        ready_timeout_s: float,
    ) -> None:
        self.config = config
        self.redis_url = redis_url
        self.config_path = config_path
        self.ready_timeout_s = ready_timeout_s
        argv = [sys.executable, "-m", "reference.export_worker", "--config", str(config_path)]
        self._process = ManagedProcess("export worker", argv, log_path, cwd=REPO_ROOT)

    @property
    def running(self) -> bool:
        return self._process.alive

    @property
    def consumer(self) -> str | None:
        """Its consumer name in the queue's group (None when it is not running)."""
        pid = self._process.pid
        return None if pid is None else consumer_name(pid)

    def pid(self) -> int | None:
        return self._process.pid

    def consumers(self) -> dict[str, int]:
        """The consumers of the queue's group (XINFO CONSUMERS) and how many entries each
        holds: the running worker, and the dead ones it has not removed yet (those idle
        beyond `exports.consumer_idle_limit_s` holding nothing are removed)."""
        with redis.Redis.from_url(self.redis_url, socket_timeout=1.0) as client:
            found = client.xinfo_consumers(STREAM, GROUP)
        return {c["name"].decode(): c["pending"] for c in found}

    def start(self) -> None:
        self.spawn()
        self.wait_ready()

    def spawn(self) -> None:
        write_config(self.config_path, self.config)
        self._process.start()

    def wait_ready(self) -> None:
        """Ready once it reads the queue: its consumer is in the group."""

        def reading() -> None:
            if self.consumer not in self.consumers():
                raise LookupError(f"consumer {self.consumer} not in group {GROUP} yet")

        self._process.wait_ready(reading, self.ready_timeout_s)

    def ensure_running(self) -> None:
        """Start it if it is not running (the heal of a kill); idempotent."""
        if not self.running:
            self.start()

    def stop(self) -> None:
        self._process.stop(timeout_s=self.ready_timeout_s)

    def kill_mid_task(self, task_in_hand: Callable[[str], T | None], timeout_s: float) -> T:
        """SIGKILL the worker while it is inside a task.

        The worker is frozen (SIGSTOP) and `task_in_hand(consumer)` asked what it holds; with
        a task in hand it is killed frozen, so the task cannot finish in between; otherwise it
        is thawed and tried again a moment later, until `timeout_s`.
        """
        pid, consumer = self._process.pid, self.consumer
        if pid is None or consumer is None:
            raise RuntimeError("the export worker is not running, so it cannot be killed")
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            killed = False
            os.kill(pid, signal.SIGSTOP)
            try:
                task = task_in_hand(consumer)
                if task is not None:
                    self._process.kill()
                    killed = True
                    return task
            finally:
                if not killed:  # a worker left frozen would look running and never be healed
                    os.kill(pid, signal.SIGCONT)
            time.sleep(0.005)
        raise TimeoutError(f"the export worker held no task during {timeout_s:g} s")
