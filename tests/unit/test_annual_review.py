"""The December review's checks over a year of the ledger: each fails on the year that lacks
what it looks for, naming it."""

from __future__ import annotations

from drillbook.checks.annual_review import (
    CALENDAR,
    action_items_closed,
    closed_in_time,
    every_type_ran,
    of_year,
    redrills_closed,
    spot_checks_cover,
    year_review,
)
from drillbook.evidence.__main__ import main

LIMIT_S = 120 * 60
SPOT = {"日期": "2026-08-03", "抽查项": "PITR 备份校验", "样本/结果": "差异 0 条", "备注": "合格"}


def entry(month: int, n: int = 1, **fields) -> dict:
    return {
        "id": f"DR-2026{month:02d}03-{n:02d}",
        "scenario": f"drill {month}",
        "script": f"features/{month}_drill.feature:9",
        "t0": f"2026-{month:02d}-03T10:00:00.000+08:00",
        "t1_minus_t0_s": 600.0,
        "drill_type": f"month_{month}",
        "issues": [],
        "spot_checks": [SPOT],
        **fields,
    }


YEAR = [entry(month) for month in range(1, 12)]


def test_a_full_year_passes_every_check():
    for result in year_review(YEAR, 2026):
        assert result.passed and result.figure == 0, result.explanation


def test_an_empty_ledger_fails_naming_every_missing_type():
    result = every_type_ran([])
    assert not result.passed and result.figure == len(CALENDAR) == 11
    assert "month_1, month_2" in result.explanation and "month_11" in result.explanation
    for check in (action_items_closed([]), spot_checks_cover([]), closed_in_time([], LIMIT_S)):
        assert not check.passed and not check.measured


def test_a_missing_type_is_named():
    result = every_type_ran([e for e in YEAR if e["drill_type"] != "month_7"])
    assert not result.passed and result.figure == 1 and result.details["missing"] == ["month_7"]


def test_an_open_action_item_fails_and_a_closing_run_passes():
    failed = entry(2, issues=[{"check": "RTO", "owner": "sre", "due": "2026-02-10"}])
    opened = [*YEAR[:1], failed, *YEAR[2:]]
    result = action_items_closed(opened)
    assert not result.passed and result.figure == 1
    assert "DR-20260203-01/1" in result.explanation and "due 2026-02-10" in result.explanation
    retest = entry(2, 2, closes=["DR-20260203-01/1"])
    assert action_items_closed([*opened, retest]).passed


def test_a_type_without_a_spot_check_is_named():
    result = spot_checks_cover([{**e, "spot_checks": []} if e["drill_type"] == "month_4" else e
                                for e in YEAR])  # fmt: skip
    assert not result.passed and result.details["missing"] == ["month_4"]


def test_a_late_or_unclosed_drill_fails():
    late = entry(5, 2, t1_minus_t0_s=LIMIT_S + 1)
    aborted = entry(6, 2, t1_minus_t0_s=None)
    result = closed_in_time([*YEAR, late, aborted], LIMIT_S)
    assert not result.passed and result.figure == 2
    assert result.details["late"] == ["DR-20260503-02", "DR-20260603-02"]


def test_the_year_is_taken_by_t0_in_utc8():
    new_year = {**entry(1), "t0": "2025-12-31T16:30:00.000+00:00"}  # 2026-01-01 00:30 UTC+8
    old_year = {**entry(1), "t0": "2025-12-31T15:30:00.000+00:00"}  # 23:30 UTC+8
    assert of_year([new_year, old_year], 2026) == [new_year]


def test_the_review_command_exits_1_when_a_check_fails(tmp_path, capsys):
    ledger = tmp_path / "ledger"
    ledger.mkdir()
    assert main(["review", "--year", "2026", str(ledger)]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("fail") and "11 of 11 drill types never ran" in out[0]
    assert out[1].startswith("not measured")


def test_an_item_left_open_in_an_earlier_year_still_counts():
    last_year = {
        **entry(12),
        "id": "DR-20251203-01",
        "t0": "2025-12-03T10:00:00.000+08:00",
        "issues": [{"check": "RTO", "owner": "sre", "due": "2025-12-10"}],
    }
    [_, open_items, _, _] = year_review([last_year, *YEAR], 2026)
    assert not open_items.passed and "DR-20251203-01/1" in open_items.explanation


def test_entries_written_before_drill_types_are_typed_by_their_feature():
    untyped = [{k: v for k, v in e.items() if k != "drill_type"} for e in YEAR]
    assert every_type_ran(untyped).passed and spot_checks_cover(untyped).passed


def test_re_drills_closed_in_time_pass_and_name_their_t1_minus_t0():
    drawn = ["features/2_pitr.feature::a__re_drill", "features/5_redis.feature::b__re_drill"]
    entries = {test: entry(2, t1_minus_t0="10:00") for test in drawn}
    result = redrills_closed(drawn, entries, LIMIT_S)
    assert result.passed and result.figure == 0 and "10:00" in result.explanation


def test_a_late_or_missing_re_drill_fails_naming_it():
    drawn = ["late__re_drill", "never__re_drill", "unclosed__re_drill"]
    entries = {
        "late__re_drill": entry(2, t1_minus_t0_s=LIMIT_S + 1),
        "unclosed__re_drill": entry(3, t1_minus_t0_s=None),
    }
    result = redrills_closed(drawn, entries, LIMIT_S)
    assert not result.passed and result.figure == 3
    assert all(test in result.explanation for test in drawn)
    assert "never__re_drill: no ledger entry" in result.explanation


def test_no_re_drill_drawn_is_not_measured():
    result = redrills_closed([], {}, LIMIT_S)
    assert not result.passed and not result.measured
