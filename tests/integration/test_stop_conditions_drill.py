"""Stop conditions end a real drill: the probes' success rate under the profile's floor, or an
operator's stop file, interrupts the scenario, its faults are reverted and it is recorded as
aborted, with the reason, in the ledger and the history."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from drillbook.faults.journal import never_closed
from drillbook.stop_conditions import STOP
from drillbook.toxiproxy import ToxiproxyClient, ToxiproxyError
from tests.drills import ROOT, ledger_entries, pytest_argv, run_dir_of

pytestmark = [pytest.mark.integration, pytest.mark.timeout(240)]

LINK = "pg-az-a"  # /history reads PostgreSQL through it: cut, the probes of /history fail
WAIT_S = 120  # far longer than any stop condition lets the drill go on (the stack included)
RUN_TIMEOUT_S = 200

FEATURE = f"""Feature: stop conditions under test
  Scenario: the drill goes on while the probes fail
    Given the reference service is up
    And probes call "/lookup" and "/history" every 100 ms
    And the workload has run for 1 seconds
    When the network to "{LINK}" is cut
    And the workload runs for {WAIT_S} more seconds
    Then the probes saw the outage
"""


def profile_with(tmp_path: Path, stop_conditions: str) -> Path:
    """environments/local.yaml with a `stop_conditions:` section added."""
    local = (ROOT / "environments" / "local.yaml").read_text(encoding="utf-8")
    path = tmp_path / "stopping.yaml"
    path.write_text(f"{local.rstrip()}\nstop_conditions:\n{stop_conditions}", encoding="utf-8")
    return path


def processes_under(path: str) -> str:
    found = subprocess.run(["pgrep", "-af", path], capture_output=True, text=True, timeout=10)
    return found.stdout.strip()


def journal_lines(reports: Path) -> list[dict]:
    path = reports / "fault-journal.jsonl"
    if not path.exists():
        return []
    # The last line may be half written while the drill runs.
    lines = []
    for text in path.read_text(encoding="utf-8").splitlines():
        try:
            lines.append(json.loads(text))
        except ValueError:
            continue
    return lines


def cut_event(lines: list[dict], event: str) -> dict | None:
    return next(
        (e for e in lines if e["event"] == event and e["kind"] == "cut" and LINK in e["target"]),
        None,
    )


@dataclass
class Run:
    returncode: int
    output: str
    elapsed_s: float
    cut_s: float  # from the cut's injection to its revert, by the journal
    proxy_enabled: bool | None  # the link right after the revert, if Toxiproxy still answered
    proxy_toxics: int | None


def proxy_state(url: str) -> tuple[bool | None, int | None]:
    client = ToxiproxyClient(url, timeout_s=1.0)
    try:
        return client.proxy(LINK).enabled, len(client.toxics(LINK))
    except ToxiproxyError:  # unreachable included
        return None, None  # the stack is already being stopped
    finally:
        client.close()


def run_drill_watched(
    tmp_path: Path, profile: Path, stop_file: Path | None = None, touch_after_s: float = 2.0
) -> Run:
    """Run the drill as a user does; read the fault journal meanwhile, to touch the stop file
    `touch_after_s` after the cut and to look at the link as soon as the cut is reverted."""
    feature = tmp_path / "stopped.feature"
    feature.write_text(FEATURE, encoding="utf-8")
    reports = tmp_path / "reports"
    log = tmp_path / "drill.log"
    argv = pytest_argv(feature, reports, "--dr-env", str(profile))
    enabled = toxics = None
    started = time.monotonic()
    with log.open("w", encoding="utf-8") as out:
        proc = subprocess.Popen(argv, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, text=True)
        try:
            touched = looked = False
            while proc.poll() is None:
                if time.monotonic() - started > RUN_TIMEOUT_S:
                    proc.kill()
                    proc.wait(timeout=30)
                    pytest.fail(f"the drill ran over {RUN_TIMEOUT_S} s:\n{log.read_text()[-3000:]}")
                lines = journal_lines(reports)
                inject = cut_event(lines, "inject")
                if (
                    stop_file is not None
                    and not touched
                    and inject is not None
                    and time.time() - inject["at"] >= touch_after_s
                ):
                    stop_file.touch()
                    touched = True
                if not looked and cut_event(lines, "revert") is not None:
                    enabled, toxics = proxy_state(inject["recover"]["url"])
                    looked = True
                time.sleep(0.1)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=30)
    elapsed = time.monotonic() - started
    lines = journal_lines(reports)
    inject, revert = cut_event(lines, "inject"), cut_event(lines, "revert")
    output = log.read_text(encoding="utf-8")
    assert inject is not None and revert is not None, output[-3000:]
    return Run(proc.returncode, output, elapsed, revert["at"] - inject["at"], enabled, toxics)


def assert_aborted_and_reverted(tmp_path: Path, run: Run, reason: str) -> dict:
    """The drill failed well before its wait was over, aborted by `reason` (a regex), every
    fault reverted; the ledger entry is returned."""
    reports = tmp_path / "reports"
    assert run.returncode == 1, run.output[-3000:]
    # The cut lasted seconds, not the two minutes the scenario would have waited.
    assert run.cut_s < 15, (run.cut_s, run.output[-3000:])
    assert run.elapsed_s < WAIT_S, run.elapsed_s
    assert re.search(rf"stop condition: {reason}; stopping the drill", run.output), run.output[
        -3000:
    ]
    [entry] = ledger_entries(reports)
    assert entry["verdict"] == "aborted", entry
    aborted = (
        rf"stopped by a stop condition: {reason} during line 7: "
        rf"And the workload runs for {WAIT_S} more seconds; reverted: cut on proxy {LINK}"
    )
    assert re.fullmatch(aborted, entry["aborted"]), entry["aborted"]
    # Nothing left open: no fault unreverted, no resource (the local stack) unreleased.
    assert never_closed(journal_lines(reports)) == []
    # The stop is in the drill's history, as the operation that ended it.
    [history] = (reports / "runs").glob("*/*/history.jsonl")
    ops = [json.loads(line) for line in history.read_text(encoding="utf-8").splitlines()]
    stops = [op for op in ops if op["process"] == STOP]
    assert [(op["f"], op["outcome"]) for op in stops] == [("abort", "info")], stops
    assert re.fullmatch(reason, stops[0]["value"]["reason"]), stops[0]
    # If Toxiproxy still answered right after the revert, the link is whole again.
    if run.proxy_enabled is not None:
        assert run.proxy_enabled is True and run.proxy_toxics == 0
    # The stack was stopped; the run folder a failed drill keeps is ours to remove once checked.
    assert "local stack stopped" in run.output
    run_dir = run_dir_of(run.output)
    assert processes_under(run_dir) == ""
    shutil.rmtree(run_dir, ignore_errors=True)
    return entry


SLA_REASON = (
    r"the probes' success rate was \d+\.\d% over the last 3 s \(\d+ requests\), "
    r"below the floor of 90\.0%"
)


def test_a_success_rate_under_the_floor_stops_the_drill_and_reverts_the_cut(tmp_path):
    profile = profile_with(tmp_path, "  sla_floor:\n    success_rate: 0.9\n    for_s: 3\n")
    run = run_drill_watched(tmp_path, profile)
    assert_aborted_and_reverted(tmp_path, run, SLA_REASON)
    print(f"run {run.elapsed_s:.1f} s, cut {run.cut_s:.1f} s, proxy enabled {run.proxy_enabled}")


def test_a_stop_file_stops_the_drill_and_reverts_the_cut(tmp_path):
    stop_file = tmp_path / "stop"
    profile = profile_with(tmp_path, f"  stop_file: {stop_file}\n")
    run = run_drill_watched(tmp_path, profile, stop_file=stop_file, touch_after_s=2.0)
    reason = rf"the stop file {re.escape(str(stop_file))} appeared"
    assert_aborted_and_reverted(tmp_path, run, reason)
    # Touched 2 s after the cut, seen within the watcher's half second (and the poll's tenth).
    assert 2 <= run.cut_s < 6, run.cut_s
    print(f"run {run.elapsed_s:.1f} s, cut {run.cut_s:.1f} s, proxy enabled {run.proxy_enabled}")
