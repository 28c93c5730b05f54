"""A drill whose runner is killed with SIGKILL: the next run reverts what it left, first of all."""

from __future__ import annotations

import json
import re
import subprocess
import time
from pathlib import Path

import pytest

from drillbook.faults.recover import local_stack_recover, processes_of, run_recover
from tests.drills import ROOT, processes_under, pytest_argv, run_drill
from tests.integration.test_drills import CROSS_AZ

pytestmark = [pytest.mark.integration, pytest.mark.timeout(240)]

NEXT_RUN = """Feature: the run after a killed one
  Scenario: up
    Given the reference service is up
"""


def journal_lines(reports: Path) -> list[dict]:
    return [json.loads(line) for line in (reports / "fault-journal.jsonl").read_text().splitlines()]


def killed_drill(feature: Path, reports: Path) -> subprocess.Popen:
    """The drill, SIGKILLed once the journal shows its last fault."""
    proc = subprocess.Popen(
        pytest_argv(feature, reports), cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT
    )
    journal = reports / "fault-journal.jsonl"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if journal.exists() and "switch endpoint" in journal.read_text():
            break
        time.sleep(0.2)
    proc.kill()
    proc.wait(timeout=10)
    return proc


def test_the_next_run_reverts_what_a_killed_run_left_before_anything_else(tmp_path):
    feature = tmp_path / "killed.feature"
    feature.write_text(CROSS_AZ.format(tail="    And the workload runs for 120 more seconds"))
    reports = tmp_path / "reports"
    killed = killed_drill(feature, reports)
    left = journal_lines(reports)
    [run_dir] = [x["target"] for x in left if x["kind"] == "local stack"]
    try:
        assert [x["kind"] for x in left if x["event"] == "inject"] == [
            "kill -9",
            "promote",
            "switch endpoint",
        ], "the drill never injected its faults"
        assert not any(x["event"] in ("revert", "release") for x in left)
        # The stack outlived its runner, faults and all: az-b promoted, az-a dead.
        orphans = processes_of(Path(run_dir))
        programs = " ".join(" ".join(argv) for _, argv in orphans.values())
        for program in ("postgres -D", "az-b", "redis-server", "toxiproxy-server", "reference"):
            assert program in programs
        assert "az-a/data" not in programs

        next_feature = tmp_path / "next.feature"
        next_feature.write_text(NEXT_RUN)
        done = run_drill(next_feature, reports, "-s")
        assert done.returncode == 0, done.stdout[-3000:]
        found = re.search(
            rf"found 3 faults and the local stack left by run \S+:{killed.pid}:\d+ "
            rf"\(pid {killed.pid}, no longer running",
            done.stdout,
        )
        assert found, done.stdout[-3000:]
        assert found.start() < done.stdout.index("starting the local environment")
        for reverted in ("#3 switch endpoint", "#2 promote", "#1 kill -9", "#1 local stack"):
            assert f"reverted {reverted} on " in done.stdout
        assert re.search(r"reverted #1 local stack on \S+: stopped \d+ processes", done.stdout)
        assert "reverted all 4 entries left by earlier runs" in done.stdout

        recovered = [x for x in journal_lines(reports) if x.get("recovered_by")]
        assert [(x["event"], x["kind"]) for x in recovered] == [
            ("revert", "switch endpoint"),
            ("revert", "promote"),
            ("revert", "kill -9"),
            ("release", "local stack"),
        ]
        assert all(x["revert_error"] is None for x in recovered)
        assert processes_of(Path(run_dir)) == {}
        assert processes_under(run_dir) == ""
        assert not Path(run_dir).exists()

        # The run after that finds everything closed: nothing to say.
        quiet = run_drill(next_feature, reports, "--collect-only")
        assert quiet.returncode == 0, quiet.stdout[-3000:]
        assert "left by run" not in quiet.stdout and "reverted" not in quiet.stdout
    finally:
        if Path(run_dir).exists():  # a failed assertion must not leave the orphans running
            run_recover(local_stack_recover(Path(run_dir)))
