"""Network faults through Toxiproxy, as a user writes them in Gherkin."""

from __future__ import annotations

import ast
import re

import pytest

from tests.drills import journal_events, ledger_entries, run_drill

pytestmark = [pytest.mark.integration, pytest.mark.timeout(240)]

CUT = """Feature: network faults under test
  Scenario: the database network is cut, then restored
    Given the reference service is up
    And probes call "/lookup" and "/history" every 100 ms
    And the workload has run for 1 seconds
    When the network to "pg-az-a" is cut
    And "redis" answers 200 ms late
    And the workload runs for 2 more seconds
    And the network to "pg-az-a" is restored
    And within 30 seconds the probes succeed again
    Then the RTO is at most {limit}
"""


def test_cut_and_restore_measures_the_outage_and_reverts_everything(tmp_path):
    feature = tmp_path / "cut.feature"
    feature.write_text(CUT.format(limit="30 seconds"))
    reports = tmp_path / "reports"
    done = run_drill(feature, reports)
    assert done.returncode == 0, done.stdout[-3000:]
    [entry] = ledger_entries(reports)
    [rto] = [f for f in entry["figures"].values() if f["check"] == "RTO"]
    assert 2 <= rto["figure"] < 5  # the 2 s cut and the pool's reconnect
    events = journal_events(reports)
    assert ("inject", "cut") in events and ("revert", "cut") in events
    assert ("revert", "latency 200 ms") in events  # reverted at teardown


def test_unknown_proxy_is_named_with_the_known_ones(tmp_path):
    feature = tmp_path / "typo.feature"
    text = CUT.format(limit="30 seconds").replace('"pg-az-a" is cut', '"pg-az-c" is cut')
    feature.write_text(text)
    done = run_drill(feature, tmp_path / "reports")
    assert done.returncode == 1
    named = re.search(r"no network link 'pg-az-c'; the links are (\[[^]]*\])", done.stdout)
    assert named is not None, done.stdout[-3000:]
    assert {"pg-az-a", "pg-az-b", "redis", "s3-crr"} <= set(ast.literal_eval(named[1]))
