"""Drills run end to end as a user runs them: `pytest <feature>` in a subprocess."""

from __future__ import annotations

import json
import re
import signal
import subprocess

import pytest

from tests.drills import (
    ROOT,
    interrupted_drill,
    journal_events,
    ledger_entries,
    processes_under,
    pytest_argv,
    run_dir_of,
    run_drill,
)

pytestmark = [pytest.mark.integration, pytest.mark.timeout(240)]

CROSS_AZ = """@month_2 @destructive
Feature: cross-AZ switch under test
  Scenario: switch
    Given the reference service is up
    And probes call "/lookup" and "/history" every 100 ms
    And a writer commits numbered rows every 50 ms
    And the workload has run for 1 seconds
    When the PostgreSQL primary in az-a is killed with SIGKILL
    And the outage is detected after 1 seconds
    And the standby in az-b is promoted
    And the service is pointed at the database in az-b
{tail}
"""


def test_february_drill_passes_and_leaves_evidence(tmp_path):
    reports, results = tmp_path / "reports", tmp_path / "allure-results"
    done = run_drill(ROOT / "features" / "2_pitr.feature", reports, "--alluredir", str(results))
    assert done.returncode == 0, done.stdout[-3000:]
    entries = ledger_entries(reports)
    assert len(entries) == 3 and all(e["verdict"] == "pass" for e in entries)
    switch = next(e for e in entries if e["scenario"].startswith("Cross-AZ"))
    figures = {f["check"]: f for f in switch["figures"].values()}
    assert {"RTO", "RPO", "RPO (replication lag)", "outage seen by the probes"} <= set(figures)
    # detected after 2 s, then promoted and switched in well under a second
    assert 2 <= figures["RTO"]["figure"] < 6
    assert re.fullmatch(r"DR-\d{8}-\d{2}", switch["id"])
    assert switch["t0"].endswith("+08:00")
    # The chart in the Allure result is byte for byte the one whose hash the ledger holds.
    chart_sha = next(e["sha256"] for e in switch["evidence"] if e["name"].startswith("timeline"))
    results_json = [json.loads(p.read_text()) for p in results.glob("*-result.json")]
    result = next(r for r in results_json if r["name"].startswith("Cross-AZ"))
    assert {"name": "epic", "value": "02 February drill"} in result["labels"]
    steps = [s["name"] for s in result["steps"]]
    assert steps[0] == "Given the reference service is up"
    assert steps[1] == 'Given probes call "/lookup" and "/history" every 100 ms'
    png = next(a for a in result["attachments"] if a["type"] == "image/png")
    from drillbook.evidence import sha256_file

    assert sha256_file(results / png["source"]) == chart_sha
    # Every fault was reverted.
    events = journal_events(reports)
    assert events.count(("inject", "kill -9")) == events.count(("revert", "kill -9")) == 1


def test_rto_below_the_outage_fails_with_the_measured_value(tmp_path):
    feature = tmp_path / "broken.feature"
    feature.write_text(
        CROSS_AZ.format(
            tail="    And within 30 seconds the probes succeed again\n"
            "    Then the RTO is at most 0.001 seconds"
        )
    )
    reports = tmp_path / "reports"
    done = run_drill(feature, reports)
    assert done.returncode == 1
    assert re.search(r"RTO check failed: .*\(measured \d+\.\d+ s, threshold 0\.001 s", done.stdout)
    [entry] = ledger_entries(reports)
    assert entry["verdict"] == "fail"
    [rto] = [f for f in entry["figures"].values() if f["check"] == "RTO"]
    assert rto["passed"] is False and rto["verdict"] == "fail"
    assert rto["figure"] >= 1
    assert [e for e, _ in journal_events(reports)].count("revert") == 3


def test_a_drill_gives_the_same_verdicts_under_python_dash_o(tmp_path):
    """`python -O` strips assert statements: no verdict of a drill may depend on one."""
    feature = tmp_path / "optimized.feature"
    feature.write_text(
        CROSS_AZ.format(
            tail="    And within 30 seconds the probes succeed again\n"
            "    Then the probes saw the outage\n"
            "    And the RTO is at most 0.001 seconds\n"
            "    And the RPO is at most 5 minutes"
        )
    )
    reports = tmp_path / "reports"
    argv = pytest_argv(feature, reports)
    done = subprocess.run(
        [argv[0], "-O", *argv[1:]], cwd=ROOT, capture_output=True, text=True, timeout=200
    )
    assert done.returncode == 1, done.stdout[-3000:]
    [entry] = ledger_entries(reports)
    verdicts = [(f["check"], f["verdict"]) for f in entry["figures"].values()]
    assert verdicts == [("outage seen by the probes", "pass"), ("RTO", "fail")], verdicts
    assert entry["verdict"] == "fail"


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_interrupted_drill_reverts_its_faults_and_stops_the_stack(tmp_path, sig):
    feature = tmp_path / "interrupted.feature"
    feature.write_text(CROSS_AZ.format(tail="    And the workload runs for 120 more seconds"))
    reports = tmp_path / "reports"
    output = interrupted_drill(feature, reports, sig, once="switch endpoint")
    events = journal_events(reports)
    assert [e for e, _ in events].count("revert") == 3, output[-3000:]
    assert "local stack stopped" in output
    assert "no drill ran" not in output
    assert processes_under(run_dir_of(output)) == ""
    # An interrupted drill is never a pass: aborted, with where it stopped.
    [entry] = ledger_entries(reports)
    assert entry["verdict"] == "aborted", entry
    # (the switch or the wait after it, depending on when the signal lands), its faults reverted
    aborted = r"interrupted( \(signal 15\))? during line 1[12]: And .+; reverted: kill -9 on "
    assert re.match(aborted, entry["aborted"]), entry["aborted"]
    assert entry["t1"] is None and entry["verdict"] == "aborted"
