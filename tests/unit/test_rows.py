"""Row-level checks after a restore: the restored table against its state at the target time,
and each user's history against what it should hold; nothing to compare is not measured."""

from __future__ import annotations

from datetime import UTC, datetime

from drillbook.checks.rows import SHOWN, history_matches, rows_match, tables_match

AT = datetime(2026, 1, 1, tzinfo=UTC)
ROWS = [(1, "u-0001", "lucid", AT), (2, "u-0002", "quorum", AT), (3, "u-0003", "latency", AT)]


def test_rows_match_passes_at_zero_differing_rows():
    result = rows_match("lookups", ROWS, list(reversed(ROWS)))
    assert result.passed and result.verdict == "pass"
    assert result.figure == 0 and result.threshold == 0 and result.unit == "rows"
    assert result.name == "lookups rows differing from the target time"
    assert result.details["expected_rows"] == 3 and result.details["restored_rows"] == 3


def test_rows_match_counts_missing_and_unexpected_rows():
    restored = [ROWS[0], ROWS[2], (4, "u-0004", "serendipity", AT), (5, "u-0005", "lucid", AT)]
    result = rows_match("lookups", ROWS, restored)
    assert not result.passed and result.verdict == "fail" and result.figure == 3
    assert "3 rows of lookups differ" in result.explanation
    assert "1 missing, 2 unexpected, of 3 expected" in result.explanation
    assert "first: (2, 'u-0002'" in result.explanation  # the missing row comes first
    assert result.details["missing"] == [list(map(str, ROWS[1]))]
    assert len(result.details["unexpected"]) == 2


def test_rows_match_fails_when_the_restore_holds_nothing():
    result = rows_match("lookups", ROWS, [])
    assert not result.passed and result.figure == 3
    assert "3 missing, 0 unexpected" in result.explanation


def test_rows_match_fails_on_rows_that_should_not_be_there():
    result = rows_match("lookups", [], ROWS[:1])
    assert result.verdict == "fail" and result.figure == 1


def test_rows_match_lists_at_most_a_few_rows():
    many = [(n, "u", "w", AT) for n in range(SHOWN + 10)]
    result = rows_match("lookups", many, [])
    assert result.figure == SHOWN + 10 and len(result.details["missing"]) == SHOWN


def test_rows_match_with_no_row_either_side_is_not_measured():
    result = rows_match("lookups", [], [])
    assert result.verdict == "not measured" and not result.passed and not result.measured
    assert result.figure is None and result.shown == "not measured"
    assert result.explanation.endswith("no row at the target time nor after the restore")


def test_history_matches_passes_whatever_the_order():
    result = history_matches("every other user", {"u-1": [1, 2], "u-2": []}, {"u-1": [2, 1]})
    assert result.passed and result.figure == 0 and result.unit == "users"
    assert result.name == "history of every other user"
    assert result.explanation.startswith("0 of 2 users' history differs")


def test_history_matches_counts_the_users_whose_history_differs():
    expected = {"u-1": [1, 2], "u-2": [3], "u-3": []}
    got = {"u-1": [1], "u-2": [3], "u-3": [9]}
    result = history_matches("every other user", expected, got)
    assert not result.passed and result.verdict == "fail" and result.figure == 2
    assert "2 of 3 users' history differs" in result.explanation
    assert "u-1: expected ids [1, 2], got [1]" in result.explanation
    assert result.details["wrong"]["u-3"] == {"expected": [], "got": [9]}
    assert "u-2" not in result.details["wrong"]


def test_history_matches_a_user_the_service_does_not_answer_for_as_empty():
    assert not history_matches("user u-1", {"u-1": [1]}, {}).passed
    assert history_matches("user u-1", {"u-1": []}, {}).passed


def test_history_matches_with_no_user_is_not_measured():
    result = history_matches("every other user", {}, {"u-1": [1]})
    assert result.verdict == "not measured" and not result.passed and result.figure is None
    assert result.explanation.endswith("no user to compare")


def test_tables_match_counts_the_rows_differing_in_every_table():
    profiles = [("u-0001", 50), ("u-0002", 50)]
    expected = {"lookups": ROWS, "profiles": profiles}
    same = tables_match(expected, {"lookups": list(reversed(ROWS)), "profiles": profiles})
    assert same.passed and same.figure == 0
    assert "lookups (3 rows), profiles (2 rows)" in same.explanation
    restored = {"lookups": ROWS[:2], "profiles": [*profiles, ("u-0003", 50)]}
    result = tables_match(expected, restored)
    assert not result.passed and result.figure == 2
    assert "1 missing" in result.explanation and "1 unexpected" in result.explanation
    assert result.details["profiles"]["unexpected"] == [["u-0003", "50"]]


def test_tables_match_with_no_row_anywhere_is_not_measured():
    result = tables_match({"lookups": [], "profiles": []}, {"lookups": [], "profiles": []})
    assert not result.passed and not result.measured
    assert "no row in lookups, profiles" in result.explanation


def test_an_empty_table_beside_others_counts_as_no_difference():
    result = tables_match({"lookups": ROWS, "orders": []}, {"lookups": ROWS, "orders": []})
    assert result.passed and result.figure == 0
    assert "orders (no row on either side)" in result.explanation
