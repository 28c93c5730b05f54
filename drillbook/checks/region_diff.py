"""The diff between regions at a failback (runbook 5.2, 回切: 记录 diff): each of the service's
tables compared between the region handing over and the one taking over, by row count and
by a digest of every row, once the first was fenced and the second had replayed all of it."""

from __future__ import annotations

from drillbook.checks.result import CheckResult, not_measured


def tables_differ(diff: dict[str, dict[str, dict]]) -> CheckResult:
    """`diff`: table -> instance -> {"rows", "md5"}. Passes when every table is the same on
    every instance; the figure is how many differ."""
    name = "tables that differ between regions"
    if not diff:
        return not_measured(name, "tables", 0, "no table was compared", {"diff": diff})
    differing = {
        table: by_instance
        for table, by_instance in diff.items()
        if len({(v["rows"], v["md5"]) for v in by_instance.values()}) > 1
    }
    rows = {table: {i: v["rows"] for i, v in by.items()} for table, by in diff.items()}
    details = {"tables": len(diff), "differing": sorted(differing), "rows": rows}
    if not differing:
        total = sum(max(by.values()) for by in rows.values())
        explanation = (
            f"0 of {len(diff)} tables differ: the same {total} rows, row for row, on "
            f"{' and '.join(next(iter(diff.values())))}"
        )
        return CheckResult(name, 0, "tables", 0, True, explanation, details)
    shown = "; ".join(f"{table}: {rows[table]}" for table in sorted(differing))
    explanation = f"{len(differing)} of {len(diff)} tables differ ({shown})"
    return CheckResult(name, len(differing), "tables", 0, False, explanation, details)
