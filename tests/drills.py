"""Drills for unit tests: a Drill over a synthetic history, with its fault operations."""

from __future__ import annotations

from pathlib import Path

from drillbook.drill import NEMESIS, RESTORE, Drill
from drillbook.workload import History, Op


def fault_at(history: History, t0: float, target: str = "target", kind: str = "fault") -> None:
    """A fault operation that started at `t0`: the drill's T0 if it is the first."""
    history.record(Op(NEMESIS, "fault", t0, t0, "ok", {"kind": kind, "target": target}))


def restore_at(history: History, at: float, target: str = "target") -> None:
    """The fault on `target` ended by a step at `at`."""
    value = {"kind": "restore", "target": target, "reverted": []}
    history.record(Op(NEMESIS, RESTORE, at, at, "ok", value))


def make_drill(history: History, tmp_path: Path, *, t0: float | None = None) -> Drill:
    """A drill over `history`, with a fault at `t0` when given."""
    if t0 is not None:
        fault_at(history, t0)
    return Drill("s", Path("x.feature"), 1, set(), tmp_path, history=history)
