"""Row-level comparisons after a restore: the plan's "diff 0 rows" (section 4.3)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from drillbook.checks.result import CheckResult, not_measured

SHOWN = 20


def rows_match(table: str, expected: Sequence[tuple], restored: Sequence[tuple]) -> CheckResult:
    """Row by row: every expected row restored, nothing else. The figure is the number of rows
    that differ, missing plus unexpected; the plan wants 0."""
    name = f"{table} rows differing from the target time"
    if not expected and not restored:
        return not_measured(name, "rows", 0, "no row at the target time nor after the restore")
    missing = sorted(set(expected) - set(restored))
    extra = sorted(set(restored) - set(expected))
    differing = len(missing) + len(extra)
    details = {
        "expected_rows": len(expected),
        "restored_rows": len(restored),
        "missing": [list(map(str, row)) for row in missing[:SHOWN]],
        "unexpected": [list(map(str, row)) for row in extra[:SHOWN]],
    }
    first = f"; first: {(missing or extra)[0]}" if differing else ""
    explanation = (
        f"{differing} rows of {table} differ from its state at the target time: "
        f"{len(missing)} missing, {len(extra)} unexpected, of {len(expected)} expected{first}"
    )
    return CheckResult(name, differing, "rows", 0, differing == 0, explanation, details)


def tables_match(
    expected: Mapping[str, Sequence[tuple]], restored: Mapping[str, Sequence[tuple]]
) -> CheckResult:
    """`rows_match` over several tables at once, as the plan's spot check counts them ("差异
    0 条"): the figure is the rows that differ in all of them; not measured when no table had
    a row at the target time nor after the restore."""
    name = "rows differing from the target time"
    per_table = {
        table: rows_match(table, rows, restored[table]) for table, rows in expected.items()
    }
    measured = {table: result for table, result in per_table.items() if result.measured}
    if not measured:
        why = f"no row in {', '.join(expected)} at the target time nor after the restore"
        return not_measured(name, "rows", 0, why, {"tables": list(expected)})
    differing = sum(result.figure for result in measured.values())
    wrong = [result.explanation for result in measured.values() if result.figure]
    counted = ", ".join(
        f"{table} ({len(expected[table])} rows)" if table in measured
        else f"{table} (no row on either side)"
        for table in expected
    )  # fmt: skip
    explanation = f"{differing} rows differ from the target time over {counted}" + (
        f": {'; '.join(wrong)}" if wrong else ""
    )
    details = {table: result.details for table, result in per_table.items()}
    return CheckResult(name, differing, "rows", 0, differing == 0, explanation, details)


def history_matches(
    who: str, expected: Mapping[str, Sequence[int]], got: Mapping[str, Sequence[int]]
) -> CheckResult:
    """Each user's history (lookup ids) as the service returns it, against what it should
    hold. The figure is the number of users whose history differs."""
    name = f"history of {who}"
    if not expected:
        return not_measured(name, "users", 0, "no user to compare")
    wrong = {
        user: {"expected": sorted(ids), "got": sorted(got.get(user, []))}
        for user, ids in expected.items()
        if sorted(ids) != sorted(got.get(user, []))
    }
    listed = "; ".join(
        f"{user}: expected ids {diff['expected'][:SHOWN]}, got {diff['got'][:SHOWN]}"
        for user, diff in list(wrong.items())[:3]
    )
    explanation = (
        f"{len(wrong)} of {len(expected)} users' history differs from what it should hold"
        + (f" ({listed})" if wrong else "")
    )
    details = {"users": len(expected), "wrong": wrong}
    return CheckResult(name, len(wrong), "users", 0, not wrong, explanation, details)
