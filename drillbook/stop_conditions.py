"""Stop conditions: when a drill must be abandoned and every fault reverted, as AWS FIS has them.

A profile may name three (`stop_conditions:`): the probes' success rate below a floor over a
stated time, a stop file that appears (an operator's `touch`), an alarm endpoint that reports
firing. While a drill acts (from its first step to its first Then), a watcher thread checks them
every `every_s`. When one holds, the watcher records the stop in the history and interrupts the
scenario's thread with `DrillStopped`; the drill fixture's teardown then reverts every fault and
the drill is recorded as aborted, with the reason, in its ledger entry and report.

The checks are functions of the history and the outside world, so they are tested apart from
the thread: `sla_breach` is pure, `stop_file_present` and `alarm_firing` read one thing each.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from drillbook.checks.sla import window_ops
from drillbook.workload.history import History, HistoryFrozen, Op

# The history process a stop is recorded under.
STOP = "stop condition"
PROBES = "probe:"
DEFAULT_EVERY_S = 0.5
ALARM_TIMEOUT_S = 2.0


class DrillStopped(BaseException):
    """A stop condition held: the drill is abandoned and its faults are reverted.

    Raised asynchronously, wherever the scenario's thread is: like KeyboardInterrupt it is no
    Exception, so no `except Exception` of a wait, a probe or a revert can swallow it."""


@dataclass(frozen=True)
class Alarm:
    """GET `url` answers JSON; the alarm fires when its `field` equals `firing`."""

    url: str
    field: str = "state"
    firing: str = "ALARM"
    timeout_s: float = ALARM_TIMEOUT_S


@dataclass(frozen=True)
class StopConditions:
    sla_floor: float | None = None  # a success ratio, 0..1
    sla_for_s: float = 0.0
    stop_file: Path | None = None
    alarm: Alarm | None = None
    every_s: float = DEFAULT_EVERY_S

    @classmethod
    def of(cls, spec: dict[str, Any]) -> StopConditions:
        """From a profile's validated `stop_conditions:` mapping (empty: none)."""
        floor = spec.get("sla_floor") or {}
        alarm = spec.get("alarm")
        return cls(
            sla_floor=floor.get("success_rate"),
            sla_for_s=float(floor.get("for_s", 0.0)),
            stop_file=Path(spec["stop_file"]) if "stop_file" in spec else None,
            alarm=Alarm(
                alarm["url"],
                alarm.get("field", "state"),
                str(alarm.get("firing", "ALARM")),
                float(alarm.get("timeout_s", ALARM_TIMEOUT_S)),
            )
            if alarm
            else None,
            every_s=float(alarm.get("every_s", DEFAULT_EVERY_S)) if alarm else DEFAULT_EVERY_S,
        )

    @property
    def any(self) -> bool:
        return self.sla_floor is not None or self.stop_file is not None or self.alarm is not None

    def reason(self, history: History, now: float) -> str | None:
        """Why the drill must stop now, or None; the cheapest checks first."""
        if self.stop_file is not None and stop_file_present(self.stop_file):
            return f"the stop file {self.stop_file} appeared"
        if self.sla_floor is not None:
            breach = sla_breach(history, self.sla_floor, self.sla_for_s, now)
            if breach:
                return breach
        if self.alarm is not None:
            return alarm_firing(self.alarm)
        return None


def stop_file_present(path: Path) -> bool:
    return path.exists()


def sla_breach(history: History, floor: float, for_s: float, now: float) -> str | None:
    """The probes' success rate over the last `for_s` seconds below `floor`, once probes have
    run that long (a single early failure is no breach); None otherwise."""
    probes = history.ops(prefix=PROBES)
    if not probes or now - probes[0].start < for_s:
        return None
    ops = window_ops(history, PROBES, now - for_s, now)
    if not ops:
        return None
    rate = sum(op.outcome == "ok" for op in ops) / len(ops)
    if rate >= floor:
        return None
    return (
        f"the probes' success rate was {rate:.1%} over the last {for_s:g} s "
        f"({len(ops)} requests), below the floor of {floor:.1%}"
    )


def alarm_firing(alarm: Alarm) -> str | None:
    """Why the alarm says stop: it fires, or it cannot be read (a drill does not go on blind)."""
    try:
        response = httpx.get(alarm.url, timeout=alarm.timeout_s)
        response.raise_for_status()
        state = response.json().get(alarm.field)
    except (httpx.HTTPError, ValueError, AttributeError) as exc:
        return f"the alarm at {alarm.url} could not be read ({type(exc).__name__}: {exc})"
    if str(state) == alarm.firing:
        return f"the alarm at {alarm.url} reports {alarm.field}={state}"
    return None


class StopWatch:
    """Checks the stop conditions while a drill acts; on a stop, records it and interrupts the
    thread that runs the scenario (SIGUSR1 to it, whose handler raises DrillStopped there)."""

    def __init__(
        self,
        conditions: StopConditions,
        history: History,
        say: Callable[[str], None],
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.conditions = conditions
        self.history = history
        self.say = say
        self.clock = clock
        self.reason: str | None = None
        self._raised = False
        self._done = threading.Event()
        # Held while deciding to signal and signalling: once stop() holds it, no signal comes.
        self._signalling = threading.Lock()
        self._thread = threading.Thread(target=self._watch, name="stop-conditions", daemon=True)
        self._target = threading.main_thread().ident

    def start(self) -> None:
        """From the thread that runs the scenario (the main thread: signals go only there)."""
        if not self.conditions.any:
            return
        signal.signal(signal.SIGUSR1, self._interrupt)
        self._thread.start()

    def stop(self) -> None:
        """No new stop after this: the drill is being observed, or it is over. The handler
        stays: a signal already on its way finds the stop raised (or pending, see
        `unraised`) and does nothing, where the default action would end the process."""
        with self._signalling:
            self._done.set()

    def raise_if_stopped(self) -> None:
        """In the scenario's thread, between steps and from the signal handler."""
        if self.reason is not None and not self._raised:
            self._raised = True
            self.say(f"stop condition: {self.reason}; stopping the drill and reverting its faults")
            raise DrillStopped(self.reason)

    @property
    def unraised(self) -> str | None:
        """A stop decided whose signal has not reached the scenario yet (it ended first)."""
        return self.reason if not self._raised else None

    def _watch(self) -> None:
        while not self._done.wait(self.conditions.every_s):
            now = self.clock()
            reason = self.conditions.reason(self.history, now)
            if reason is None:
                continue
            with self._signalling:
                if self._done.is_set():
                    return
                try:
                    value = {"reason": reason}
                    self.history.record(Op(STOP, "abort", now, self.clock(), "info", value))
                except HistoryFrozen:  # the observation began meanwhile: too late to stop
                    return
                self.reason = reason
                signal.pthread_kill(self._target, signal.SIGUSR1)
            return

    def _interrupt(self, signum: int, frame: object) -> None:
        """Runs in the scenario's thread (Python runs signal handlers there)."""
        self.raise_if_stopped()
