from __future__ import annotations

from drillbook.checks.region_diff import objects_differ, tables_differ
from drillbook.objects import DELETE_MARKER, versions_diff


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


SG, APNE1 = "ap-southeast-1", "ap-northeast-1"


def versions(*pairs: tuple[str, str, str]) -> dict[tuple[str, str], str]:
    return {(key, version): etag for key, version, etag in pairs}


def test_the_versions_diff_names_what_is_missing_or_different_in_either_region() -> None:
    both = [("exports/a.json", "v1", '"e1"'), ("exports/b.json", "v2", '"e2"')]
    at_sg = versions(*both, ("dr-offset/x.json", "v3", '"e3"'))
    at_apne1 = versions(*both[:1], ("exports/b.json", "v2", '"other"'), ("exports/c", "v4", "e4"))
    diff = versions_diff({SG: at_sg, APNE1: at_apne1})
    assert diff["versions"] == {SG: 3, APNE1: 3} and diff["differing"] == 3
    assert diff["first"]["dr-offset/x.json v3"] == {SG: '"e3"', APNE1: "missing"}
    assert diff["first"]["exports/b.json v2"] == {SG: '"e2"', APNE1: '"other"'}


def test_the_same_versions_in_both_regions_pass_with_their_counts() -> None:
    same = versions(("exports/a.json", "v1", '"e1"'), ("exports/a.json", "v0", DELETE_MARKER))
    result = objects_differ({"glancy-exports": versions_diff({SG: same, APNE1: same})})
    assert result.passed and result.figure == 0
    assert "glancy-exports: 2 in ap-southeast-1, 2 in ap-northeast-1" in result.explanation


def test_a_version_written_in_one_region_only_fails_naming_it() -> None:
    written = versions(("exports/a.json", "v1", '"e1"'))
    result = objects_differ({"glancy-exports": versions_diff({SG: {}, APNE1: written})})
    assert not result.passed and result.figure == 1
    first = 'glancy-exports/exports/a.json v1: missing in ap-southeast-1, "e1" in ap-northeast-1'
    assert result.explanation.endswith(f"first: {first}")


def test_no_version_compared_is_not_measured() -> None:
    assert objects_differ({}).verdict == "not measured"
    empty = {"glancy-exports": versions_diff({SG: {}, APNE1: {}})}
    result = objects_differ(empty)
    assert result.verdict == "not measured" and "in glancy-exports" in result.explanation


def test_a_bucket_that_could_not_be_listed_is_not_measured_naming_why() -> None:
    unlisted = {"error": "timed out after 60 s", "converged": False}
    result = objects_differ({"glancy-exports": unlisted})
    assert result.verdict == "not measured"
    assert "glancy-exports could not be listed: timed out after 60 s" in result.explanation
