"""The diff between regions at a failback (runbook 5.2, 回切: 记录 diff): each of the service's
tables compared between the region handing over and the one taking over, by row count and
by a digest of every row, once the first was fenced and the second had replayed all of it;
and each compared bucket's versions, once replication both ways had brought them together or
the plan's 60 s CRR limit had passed: a failback that promotes the primary region while a
version is missing there has lost it."""

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


def objects_differ(diff: dict[str, dict] | None) -> CheckResult:
    """`diff`: bucket -> {"versions": region -> how many, "differing": how many, "first":
    the first differing versions} (drillbook.objects.versions_diff), or {"error"} for a bucket
    that could not be listed; None when the takeover recorded none. Passes when no version
    differs; the figure is how many do."""
    name = "object versions that differ between regions"
    if diff is None:
        why = "the takeover recorded no diff of objects (its output has no 'objects')"
        return not_measured(name, "versions", 0, why, {})
    if failed := {bucket: d["error"] for bucket, d in diff.items() if "error" in d}:
        why = "; ".join(
            f"{bucket} could not be listed: {error}" for bucket, error in failed.items()
        )
        return not_measured(name, "versions", 0, why, {"diff": diff})
    if not any(sum(d["versions"].values()) for d in diff.values()):
        why = "no version was compared" + (f" in {', '.join(diff)}" if diff else "")
        return not_measured(name, "versions", 0, why, {"diff": diff})
    differing = sum(d["differing"] for d in diff.values())
    counts = "; ".join(
        f"{bucket}: " + ", ".join(f"{n} in {region}" for region, n in d["versions"].items())
        for bucket, d in diff.items()
    )
    details = {"buckets": diff}
    if not differing:
        explanation = f"0 versions differ: the same versions and delete markers ({counts})"
        return CheckResult(name, 0, "versions", 0, True, explanation, details)
    bucket, first = next((bucket, d) for bucket, d in diff.items() if d["differing"])
    key, held = next(iter(first["first"].items()))
    found = ", ".join(f"{etag} in {region}" for region, etag in held.items())
    waited = f" after {first['waited_s']:g} s of waiting" if "waited_s" in first else ""
    explanation = f"{differing} versions differ{waited} ({counts}); first: {bucket}/{key}: {found}"
    return CheckResult(name, differing, "versions", 0, False, explanation, details)
