"""The fault journal: every fault is written down before it is injected and reverted after.

Like Jepsen's nemesis, a fault is something done to the environment that must be undone. The
journal is an append-only JSON Lines file, so an auditor (and a later run) can see what was
injected, when, and whether it was reverted. Reverts are *heal* operations of the environment
(restart what was killed, restore the topology, reset the network): idempotent, so several
faults that share one heal are undone by its first call and the rest find nothing to do.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")


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
    reverted_at: float | None = None
    revert_error: str | None = None


class FaultJournal:
    """Records faults on disk before injecting them, reverts them last-in first-out."""

    def __init__(self, path: Path, progress: Callable[[str], None] = print) -> None:
        self.path = path
        self.progress = progress
        self.faults: list[Fault] = []
        self._heals: dict[int, Callable[[], None]] = {}
        path.parent.mkdir(parents=True, exist_ok=True)

    def inject(
        self,
        kind: str,
        target: str,
        action: Callable[[], T],
        heal: Callable[[], None],
        **detail: Any,
    ) -> T:
        """Journal the fault, then inject it. A fault whose injection raised is still reverted,
        since it may have half happened."""
        fault = Fault(
            id=len(self.faults) + 1,
            kind=kind,
            target=target,
            heal=getattr(heal, "__name__", repr(heal)),
            injected_at=time.time(),
            detail=detail,
        )
        self.faults.append(fault)
        self._heals[fault.id] = heal
        self._write("inject", fault)
        return action()

    def active(self) -> list[Fault]:
        return [f for f in self.faults if f.reverted_at is None]

    def revert_all(self) -> list[Fault]:
        """Revert every active fault, newest first; raise once at the end if any revert failed."""
        failed = []
        for fault in reversed(self.active()):
            self.progress(f"reverting fault #{fault.id} {fault.kind} on {fault.target}")
            try:
                self._heals[fault.id]()
            except Exception as exc:  # keep reverting the others; report all at the end
                fault.revert_error = f"{type(exc).__name__}: {exc}"
                failed.append(fault)
            fault.reverted_at = time.time()
            self._write("revert", fault)
        if failed:
            lines = "; ".join(f"#{f.id} {f.kind} on {f.target}: {f.revert_error}" for f in failed)
            raise FaultRevertError(f"could not revert {len(failed)} fault(s): {lines}")
        return self.faults

    def _write(self, event: str, fault: Fault) -> None:
        with self.path.open("a", encoding="utf-8") as out:
            out.write(json.dumps({"event": event, "at": time.time(), **asdict(fault)}) + "\n")
