from __future__ import annotations

from drillbook.checks.region_diff import tables_differ


def same(rows: int, md5: str = "m") -> dict:
    return {"ap-northeast-1": {"rows": rows, "md5": md5}, "az-a": {"rows": rows, "md5": md5}}


def test_identical_tables_pass_with_their_rows() -> None:
    result = tables_differ({"lookups": same(120), "profiles": same(8)})
    assert result.passed and result.figure == 0
    assert result.explanation == (
        "0 of 2 tables differ: the same 128 rows, row for row, on ap-northeast-1 and az-a"
    )


def test_a_table_with_the_same_count_and_other_rows_differs() -> None:
    diff = {"lookups": same(120), "profiles": same(8)}
    diff["profiles"]["az-a"] = {"rows": 8, "md5": "other"}
    result = tables_differ(diff)
    assert not result.passed and result.figure == 1
    assert result.details["differing"] == ["profiles"]


def test_a_missing_row_is_named_with_the_counts() -> None:
    diff = {"lookups": same(120)}
    diff["lookups"]["az-a"] = {"rows": 119, "md5": "x"}
    result = tables_differ(diff)
    assert "lookups: {'ap-northeast-1': 120, 'az-a': 119}" in result.explanation


def test_nothing_compared_is_not_measured() -> None:
    assert tables_differ({}).verdict == "not measured"
