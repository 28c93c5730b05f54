"""Drills for the tests: a Drill over a synthetic history, with its fault operations, and a
feature run as a user runs it, to its end or interrupted, with what it left behind."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path
from typing import NoReturn

import pytest

from drillbook.drill import NEMESIS, RESTORE, Drill
from drillbook.faults.recover import local_stack_recover, run_recover
from drillbook.waits import wait_until
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


def run_drill(feature: Path, reports: Path, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        pytest_argv(feature, reports, *extra), cwd=ROOT, capture_output=True, text=True, timeout=200
    )


def interrupted_drill(
    feature: Path, reports: Path, sig: signal.Signals, *, once: str, within_s: float = 90.0
) -> str:
    """The output of the feature run until its fault journal mentions `once`, then sent `sig`.
    Fails the test with the output if it gets to neither within `within_s`."""
    journal = reports / "fault-journal.jsonl"
    proc = subprocess.Popen(
        pytest_argv(feature, reports, "-s"),
        cwd=ROOT,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        # unbuffered: if it does not stop in time, its output says where it stood
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        preexec_fn=_interruptible,
    )
    try:
        wait_until(
            f"{once!r} in the fault journal",
            lambda: (journal.exists() and once in journal.read_text(), None),
            within_s,
            interval_s=0.2,
            progress=lambda _line: None,
        )
    except AssertionError:
        _killed(proc, f"the drill never journaled {once!r}")
    proc.send_signal(sig)
    try:
        return proc.communicate(timeout=within_s)[0]
    except subprocess.TimeoutExpired:
        _killed(proc, f"the drill did not stop within {within_s:g} s of {sig!r}")


def _interruptible() -> None:
    """Ctrl-C reaches a program in the foreground; one started from a background job (as CI
    runs us) inherits SIGINT ignored, so the drill under test gets the default back."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _killed(proc: subprocess.Popen, why: str) -> NoReturn:
    """Fail with the drill's output, after killing it and stopping the stack it left."""
    proc.kill()
    output = proc.communicate()[0]
    started = re.search(r"starting the local environment in (\S+)", output)
    if started and Path(started.group(1)).exists():
        run_recover(local_stack_recover(Path(started.group(1))))
    pytest.fail(f"{why}:\n{output[-3000:]}")


def ledger_entries(reports: Path) -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted((reports / "ledger").glob("*.json"))]


def journal_events(reports: Path) -> list[tuple[str, str]]:
    lines = (reports / "fault-journal.jsonl").read_text().splitlines()
    return [(e["event"], e["kind"]) for e in map(json.loads, lines)]


def run_dir_of(output: str) -> str:
    return re.search(r"starting the local environment in (\S+)", output).group(1)


def processes_under(path: str) -> str:
    found = subprocess.run(["pgrep", "-af", path], capture_output=True, text=True)
    return found.stdout.strip()


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
