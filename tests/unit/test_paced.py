"""Stopping a workload's clients: a stop waits for the operation in flight as long as its
client's timeouts allow, and reports a client stuck beyond them."""

from __future__ import annotations

import threading
import time

import pytest

from drillbook.workload import History, HttpProbe, Workload, paced
from drillbook.workload.paced import STOP_MARGIN_S, PacedWorker


class Slow(PacedWorker):
    """One tick that takes `seconds`, from a client whose timeouts allow `tick_timeout_s`."""

    def __init__(self, seconds: float, tick_timeout_s: float) -> None:
        super().__init__("slow", 0.01, tick_timeout_s)
        self.seconds = seconds
        self.started = threading.Event()

    def _tick(self) -> None:
        self.started.set()
        time.sleep(self.seconds)


def test_a_stop_waits_for_an_operation_still_within_its_clients_timeout():
    worker = Slow(0.5, tick_timeout_s=1.0)
    worker.start()
    assert worker.started.wait(1)
    workload = Workload(History())
    workload.add(worker)
    workload.stop(timeout=0.1)  # shorter than the tick in flight, which its timeout allows
    assert not worker.running


def test_a_worker_stuck_beyond_its_clients_timeout_is_reported(monkeypatch):
    monkeypatch.setattr(paced, "STOP_MARGIN_S", 0.05)
    worker = Slow(1.0, tick_timeout_s=0.1)
    worker.start()
    assert worker.started.wait(1)
    with pytest.raises(TimeoutError, match=r"slow did not stop within 0.15 s"):
        worker.stop(timeout=0.1)


def test_each_client_knows_how_long_one_operation_can_take():
    """A probe with a 10 s client timeout (the exports probe) is waited for beyond the
    workload's default 5 s."""
    probe = HttpProbe(History(), "http://127.0.0.1:9", "/exports", timeout_s=10.0)
    assert probe.tick_timeout_s == 20.0  # to connect, then to answer
    assert probe.tick_timeout_s + STOP_MARGIN_S > 10.0 + 1
    probe.stop()
