"""The fault journal: every fault is written down before it is injected and reverted after.

Like Jepsen's nemesis, a fault is something done to the environment that must be undone. The
journal is an append-only JSON Lines file, so an auditor (and a later run) can see what was
injected, when, and whether it was reverted. Reverts are *heal* operations of the environment
(restart what was killed, restore the topology, reset the network): idempotent, so several
faults that share one heal are undone by its first call and the rest find nothing to do.

A run killed with SIGKILL reverts nothing, so each line names its run (host, pid, process
start) and may carry a *recover* op: a data description of the revert that a later process,
which has none of this run's objects, can carry out (see drillbook.faults.recover). Resources
of the run that outlive it, such as the local stack, are journaled the same way as "hold" and
"release" lines.
"""

from __future__ import annotations

import itertools
import json
import os
import socket
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from drillbook.procstat import pid_fields

T = TypeVar("T")

JOURNAL_NAME = "fault-journal.jsonl"
# Opening event -> closing event, for faults and for held resources.
CLOSES = {"inject": "revert", "hold": "release"}

# Tells apart the journals of one run (one per scenario), whose fault ids all start at 1.
_serials = itertools.count(1)


class FaultRevertError(RuntimeError):
    """One or more faults could not be reverted; the message lists them."""


@dataclass
class Fault:
    id: int
    kind: str
    target: str
    heal: str
    injected_at: float
    detail: dict[str, Any] = field(default_factory=dict)
    recover: dict[str, Any] | None = None
    reverted_at: float | None = None
    revert_error: str | None = None
    resource: bool = False
    # "fault" or "remediation" (a promotion, an endpoint switch): both are reverted alike.
    role: str = "fault"


def process_started(pid: int) -> int | None:
    """When a live process started, in clock ticks since boot; None if it is gone or a zombie.

    With the pid it names one process: a later process that reuses the pid starts later."""
    fields = pid_fields(pid)
    return None if fields is None or fields[0] == "Z" else int(fields[19])


def run_id(pid: int | None = None) -> str:
    """The run of a process (default: this one) as "host:pid:start ticks"."""
    pid = os.getpid() if pid is None else pid
    return f"{socket.gethostname()}:{pid}:{process_started(pid)}"


def run_alive(run: str) -> bool | None:
    """Whether the run's process still runs; None when that cannot be told (another host)."""
    host, _, rest = run.partition(":")
    pid, _, started = rest.partition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return None
    return str(process_started(int(pid))) == started


def append_line(path: Path, line: dict[str, Any]) -> None:
    """Append one line and fsync it: the line must survive the process, even the host."""
    with path.open("a", encoding="utf-8") as out:
        out.write(json.dumps(line) + "\n")
        out.flush()
        os.fsync(out.fileno())


def read_lines(path: Path) -> tuple[list[dict[str, Any]], list[int]]:
    """The journal's lines, and the numbers of lines that are not JSON objects."""
    lines, unreadable = [], []
    with path.open(encoding="utf-8") as journal:
        for number, text in enumerate(journal, 1):
            try:
                line = json.loads(text)
            except ValueError:
                unreadable.append(number)
                continue
            if isinstance(line, dict):
                lines.append(line)
            else:
                unreadable.append(number)
    return lines, unreadable


def never_closed(lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Faults injected and never reverted, resources held and never released, in journal order.

    Lines without a run (journals older than run ids) cannot be attributed and are left out."""
    opened: dict[tuple[Any, ...], dict[str, Any]] = {}
    for line in lines:
        if "run" not in line:
            continue
        key = (line["run"], line.get("journal"), line.get("id"))
        if line.get("event") in CLOSES:
            opened[key] = line
        elif line.get("event") in CLOSES.values():
            opened.pop(key, None)
    return list(opened.values())


class FaultJournal:
    """Records faults on disk before injecting them, reverts them last-in first-out."""

    def __init__(self, path: Path, progress: Callable[[str], None] = print) -> None:
        self.path = path
        self.progress = progress
        self.run = run_id()
        self.serial = next(_serials)
        self.faults: list[Fault] = []
        self._heals: dict[int, Callable[[], None]] = {}
        path.parent.mkdir(parents=True, exist_ok=True)

    def inject(
        self,
        kind: str,
        target: str,
        action: Callable[[], T],
        heal: Callable[[], None],
        *,
        recover: dict[str, Any] | None = None,
        role: str = "fault",
        **detail: Any,
    ) -> T:
        """Journal the fault, then inject it. A fault whose injection raised is still reverted,
        since it may have half happened. `recover` is how a later run reverts it if this one is
        killed (an op of drillbook.faults.recover and its parameters)."""
        return self._open(kind, target, action, heal, recover, detail, resource=False, role=role)

    def hold(
        self,
        kind: str,
        target: str,
        acquire: Callable[[], T],
        release: Callable[[], None],
        *,
        recover: dict[str, Any] | None = None,
        **detail: Any,
    ) -> T:
        """Journal a resource of the run that would outlive it (the local stack), then acquire
        it. It is released like a fault is reverted, and a later run recovers it the same way."""
        return self._open(kind, target, acquire, release, recover, detail, resource=True)

    def _open(
        self,
        kind: str,
        target: str,
        action: Callable[[], T],
        heal: Callable[[], None],
        recover: dict[str, Any] | None,
        detail: dict[str, Any],
        *,
        resource: bool,
        role: str = "fault",
    ) -> T:
        fault = Fault(
            id=len(self.faults) + 1,
            kind=kind,
            target=target,
            heal=getattr(heal, "__name__", repr(heal)),
            injected_at=time.time(),
            detail=detail,
            recover=recover,
            resource=resource,
            role=role,
        )
        self.faults.append(fault)
        self._heals[fault.id] = heal
        self._write("hold" if resource else "inject", fault)
        return action()

    def active(self) -> list[Fault]:
        return [f for f in self.faults if f.reverted_at is None]

    def revert_all(self) -> list[Fault]:
        """Revert every active fault, newest first; raise once at the end if any revert failed."""
        return self.revert(self.active())

    def revert_target(self, target: str) -> list[Fault]:
        """Revert the active faults on one target (a step that ends a fault before teardown)."""
        return self.revert([f for f in self.active() if f.target == target])

    def revert(self, faults: list[Fault]) -> list[Fault]:
        """Revert `faults`, newest first; raise once at the end if any revert failed."""
        failed = []
        for fault in reversed(faults):
            verb = "releasing" if fault.resource else "reverting fault"
            self.progress(f"{verb} #{fault.id} {fault.kind} on {fault.target}")
            try:
                self._heals[fault.id]()
            except Exception as exc:  # keep reverting the others; report all at the end
                fault.revert_error = f"{type(exc).__name__}: {exc}"
                failed.append(fault)
            fault.reverted_at = time.time()
            self._write("release" if fault.resource else "revert", fault)
        if failed:
            lines = "; ".join(f"#{f.id} {f.kind} on {f.target}: {f.revert_error}" for f in failed)
            raise FaultRevertError(f"could not revert {len(failed)} fault(s): {lines}")
        return faults

    def _write(self, event: str, fault: Fault) -> None:
        line = {"event": event, "at": time.time(), "run": self.run, "journal": self.serial}
        append_line(self.path, {**line, **asdict(fault)})
