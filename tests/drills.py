"""Drills for the tests: a Drill over a synthetic history, with its fault operations, and the
command line that runs a feature as a user does."""

from __future__ import annotations

import sys
from pathlib import Path

from drillbook.drill import NEMESIS, RESTORE, Drill
from drillbook.workload import History, Op

ROOT = Path(__file__).resolve().parents[1]


def pytest_argv(feature: Path, reports: Path, *extra: str) -> list[str]:
    """`pytest FEATURE` with the project's configuration and its own reports folder."""
    # A feature outside the project needs the project's conftest loaded explicitly.
    plugin = [] if feature.is_relative_to(ROOT) else ["-p", "conftest"]
    return [
        sys.executable,
        "-m",
        "pytest",
        *plugin,
        "--rootdir",
        str(ROOT),
        "-c",
        str(ROOT / "pyproject.toml"),
        "--dr-reports",
        str(reports),
        str(feature),
        *extra,
    ]


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
