"""Action items over the ledger: a run that did not pass opens them (owner, due in 5 working
days), a later passing run of the same drill closes them, in its own entry."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

from drillbook.checks.result import CheckResult
from drillbook.drill import StepRef, Verdict
from drillbook.evidence.actions import action_items, drill_key
from drillbook.evidence.ledger import UTC8, LedgerEntry, load_entries, write_entry

MONDAY = datetime(2026, 8, 3, 10, 0, tzinfo=UTC8).timestamp()
DAY = 24 * 3600


def run(
    t0: float,
    passed: bool = True,
    *,
    scenario: str = "Random spot check",
    line: int = 30,
    took_s: float = 600,
) -> LedgerEntry:
    result = CheckResult("RTO", 10.0 if passed else 4000.0, "s", 1800.0, passed, "RTO")
    return LedgerEntry.from_verdicts(
        scenario=scenario,
        script=f"features/8_pitr_recheck.feature:{line}",
        t0=t0,
        t1=t0 + took_s,
        verdicts=[Verdict(StepRef(line + 5, "Then the RTO is at most 30 minutes"), result)],
        owners=["sre: SRE on call", "dba: DBA on call"],
        drill_type="month_8",
    )


def test_a_failed_run_opens_an_item_owned_and_due_in_five_working_days(tmp_path: Path):
    write_entry(tmp_path, run(MONDAY, passed=False))
    [item] = action_items(load_entries(tmp_path))
    assert item.id == "DR-20260803-01/1" and item.is_open
    assert item.owner == "sre: SRE on call"
    assert item.due == "2026-08-10"  # Monday + 5 working days: the next Monday
    assert item.drill == "features/8_pitr_recheck.feature :: Random spot check"
    assert item.drill_type == "month_8"
    assert item.overdue("2026-08-11") and not item.overdue("2026-08-10")


def test_a_later_passing_run_of_the_same_drill_closes_its_items(tmp_path: Path):
    write_entry(tmp_path, run(MONDAY, passed=False))
    write_entry(tmp_path, run(MONDAY + DAY, passed=False))
    other = write_entry(tmp_path, run(MONDAY + 2 * DAY, scenario="Cross-AZ switch"))
    # the line moved in between: it is still the same drill
    retest = write_entry(tmp_path, run(MONDAY + 3 * DAY, line=41))
    assert json.loads(other.json_path.read_text())["closes"] == []
    assert json.loads(retest.json_path.read_text())["closes"] == [
        "DR-20260803-01/1",
        "DR-20260804-01/1",
    ]
    items = action_items(load_entries(tmp_path))
    assert [item.closed_by for item in items] == ["DR-20260806-01", "DR-20260806-01"]
    assert "DR-20260803-01/1" in retest.md_path.read_text(encoding="utf-8")


def test_a_failing_run_closes_nothing(tmp_path: Path):
    write_entry(tmp_path, run(MONDAY, passed=False))
    again = write_entry(tmp_path, run(MONDAY + DAY, passed=False))
    assert json.loads(again.json_path.read_text())["closes"] == []
    assert all(item.is_open for item in action_items(load_entries(tmp_path)))


def test_a_run_over_the_closure_limit_opens_an_item():
    late = run(MONDAY, took_s=121 * 60)
    assert late.verdict == "fail"
    [issue] = late.issues
    assert issue["check"] == "closure limit" and "exceeds 120 min" in issue["explanation"]


def test_items_of_entries_written_before_items_had_ids_are_numbered_by_position():
    old = {
        "id": "DR-20260101-01",
        "script": "features/2_pitr.feature:12",
        "scenario": "PITR",
        "issues": [{"check": "a"}, {"check": "b"}],
    }
    assert [item.id for item in action_items([old])] == ["DR-20260101-01/1", "DR-20260101-01/2"]
    assert drill_key(old["script"], old["scenario"]) == "features/2_pitr.feature :: PITR"


def test_an_unreadable_earlier_entry_does_not_cost_a_new_run_its_record(tmp_path: Path):
    write_entry(tmp_path, run(MONDAY, passed=False))
    broken = write_entry(tmp_path, run(MONDAY + DAY, passed=False))
    broken.json_path.write_text("{not json", encoding="utf-8")
    retest = write_entry(tmp_path, run(MONDAY + 2 * DAY))
    assert json.loads(retest.json_path.read_text())["closes"] == ["DR-20260803-01/1"]
