"""Runbook 5.2 step 5: `aws s3 cp s3://glancy-dr-ap-sg/pg/last-lsn.txt s3://glancy-dr-apne1/pg/`
and the check that CRR delivered the WAL archive to the standby region up to that point. The
archive is shipped to the backups bucket as PostgreSQL archives it; `last-lsn.txt` names the
last segment archived."""

from __future__ import annotations

from pytest_bdd import parsers, when

from drillbook.bdd import performs
from drillbook.capabilities import ObjectStorage
from drillbook.checks.wal_archive import in_flight_at_cut, last_segment, missing_segments
from drillbook.conditions import Poll, condition
from drillbook.drill import Drill
from drillbook.objects import split_location

# The plan's CRR lag limit (3.1: CRR 延迟 ≤60 s): a segment archived this long before the cut
# may not have replicated by then.
CRR_LAG_LIMIT_S = 60.0


@when(
    parsers.parse('"{key}" is copied from "{bucket}" in {source} to "{target_bucket}" in {target}')
)
@performs("storage.copy", bucket="{bucket}", key="{key}", target_bucket="{target_bucket}")
def copied(
    drill: Drill,
    storage: ObjectStorage,
    key: str,
    bucket: str,
    source: str,
    target_bucket: str,
    target: str,
) -> None:
    done = drill.apply(storage.copy(source, bucket, key, target, target_bucket))
    drill.evidence.attach_json(f"aws s3 cp s3://{bucket}/{key} s3://{target_bucket}/", done)


@condition('the WAL archive in "{archive}" is replicated to {region} up to "{marker}"')
def archive_replicated(
    drill: Drill, storage: ObjectStorage, archive: str, region: str, marker: str
) -> Poll:
    """CRR of the archive complete as far as the marker (`bucket/key` of a `last-lsn.txt`,
    read where it is, in `region`) says: every segment up to the one it names, the named one
    included, as the primary region's bucket holds it, is in `region`'s replica with the same
    version and ETag, or was in flight at the cut (T0), archived within the plan's CRR lag
    before it. What the primary archived after it (its own marker, read past the cut through
    the harness's own path) and `region` lacks is reported, not waited for: the cut strands
    it."""
    bucket, prefix = split_location(archive)
    primary = storage.primary_region
    cut = drill.require_t0()

    def written_at(where: str) -> dict[str, float]:
        """When each segment was archived: a segment is written once, so its one version's
        time (a delete marker is no write). Listed only when a segment is missing."""
        listed = storage.listing(where, bucket, prefix)
        return {item.key: item.written_at for item in listed if not item.deleted}

    def poll() -> tuple[bool, str]:
        last = read_marker(storage, region, marker)
        source = storage.all_versions(primary, bucket, prefix)
        if f"{prefix}/{last}" not in {key for key, _version in source}:
            return False, f"{last}, named by s3://{marker} in {region}, is not in s3://{archive}"
        replica = storage.all_versions(region, bucket, prefix)
        compared, missing = missing_segments(source, replica, prefix, last)
        in_flight, failing = (
            in_flight_at_cut(missing, written_at(primary), cut, CRR_LAG_LIMIT_S)
            if missing
            else ([], [])
        )
        if failing:
            return False, f"{len(failing)} of {compared} segments up to {last} not in {region}"
        newest = read_marker(storage, primary, f"{bucket}/{split_location(marker)[1]}")
        _, stranded = missing_segments(source, replica, prefix, newest)
        flying = f" ({len(in_flight)} in flight at the cut: {', '.join(in_flight)})"
        flying = flying if in_flight else ""
        return True, (
            f"all {compared - len(in_flight)} of {compared} segments up to {last} are in "
            f"{region}{flying}; the primary's last archived is {newest}, {len(stranded)} "
            f"segments after it not in {region}"
        )

    return poll


def read_marker(storage: ObjectStorage, region: str, location: str) -> str:
    """The WAL file a `last-lsn.txt` (`bucket/key`) names, as `region` serves it."""
    bucket, key = split_location(location)
    body = storage.client(region).get_object(Bucket=bucket, Key=key)["Body"]
    try:
        return last_segment(body.read().decode(), f"s3://{location} in {region}")
    finally:
        body.close()
