"""The backup matrix (seed 3.1) checked where the backups land: the archives' version
listings in the primary region's store, the primary database's WAL position, the Redis
primary's configuration and the buckets' versioning. Nothing is written or changed, so these
steps are safe on any profile; each Then is one check of drillbook.checks.backups, against the
harness's clock.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from functools import partial

from pytest_bdd import parsers, then

from drillbook.capabilities import Cache, Database, ObjectStorage
from drillbook.checks.backups import (
    aof_everysec,
    base_backups,
    base_backups_kept,
    held,
    newest_age,
    segments_per_log,
    versioned,
    wal_kept,
    wal_shipped,
)
from drillbook.checks.duration import to_seconds
from drillbook.drill import Drill
from drillbook.objects import Listed, split_location

# Where the primary writes (bytes of WAL since 0/0), its segment size and archive_timeout (s),
# in one reading. The segment being written is the position's: pg_walfile_name would name the
# one before it when the position sits on a boundary, as it does after a switch.
WAL_POSITION = (
    "SELECT pg_current_wal_lsn() - '0/0'::pg_lsn, "
    "(SELECT setting::bigint FROM pg_settings WHERE name = 'wal_segment_size'), "
    "(SELECT setting::int FROM pg_settings WHERE name = 'archive_timeout')"
)


@dataclass(frozen=True)
class WalPosition:
    segment: int
    per_log: int
    archive_timeout_s: int


def archive(
    drill: Drill, storage: ObjectStorage, location: str, reading: str = "the archive"
) -> list[Listed]:
    """The version listing of `bucket/prefix` in the primary region, read once per scenario
    and `reading` (a step that must read it after something else names its own)."""
    bucket, prefix = split_location(location)
    region = storage.primary_region
    under = f"{prefix}/" if prefix else ""
    return drill.observed(
        f"s3 {region}: versions of {location}/ ({reading})",
        partial(storage.listing, region, bucket, under),
    )


def wal_position(drill: Drill, database: Database) -> WalPosition:
    """The primary's WAL position, read once per scenario."""
    primary = database.instance(database.primary_zone)

    def read() -> WalPosition:
        [(lsn, segment_bytes, timeout_s)] = primary.query(WAL_POSITION)
        return WalPosition(int(lsn) // segment_bytes, segments_per_log(segment_bytes), timeout_s)

    return drill.observed(f"WAL position of {primary.name}", read)


@then(parsers.parse('the newest base backup in "{location}" is at most {limit:g} {unit} old'))
def base_backup_age(
    drill: Drill, storage: ObjectStorage, location: str, limit: float, unit: str
) -> None:
    prefix = split_location(location)[1]
    backups = base_backups(archive(drill, storage, location), prefix)
    result = newest_age(
        "base backup age", "base backup", backups, time.time(), to_seconds(limit, unit)
    )
    drill.verdict(result)


@then(parsers.parse('WAL archiving to "{location}" lags at most {limit:g} {unit}'))
def wal_lag(
    drill: Drill,
    storage: ObjectStorage,
    database: Database,
    location: str,
    limit: float,
    unit: str,
) -> None:
    """The primary's position is read before a listing of its own, so a segment it completes
    meanwhile cannot be counted missing."""
    position = wal_position(drill, database)
    listed = archive(drill, storage, location, reading="after the WAL position")
    prefix = split_location(location)[1]
    result = wal_shipped(
        listed, prefix, position.segment, position.per_log, position.archive_timeout_s,
        time.time(), to_seconds(limit, unit),
    )  # fmt: skip
    drill.verdict(result)


@then(
    parsers.parse(
        'base backups in "{location}", taken every {every:g} {every_unit}, are kept '
        "{keep:g} {keep_unit}"
    )
)
def base_backups_retained(
    drill: Drill,
    storage: ObjectStorage,
    location: str,
    every: float,
    every_unit: str,
    keep: float,
    keep_unit: str,
) -> None:
    prefix = split_location(location)[1]
    listed = archive(drill, storage, location)
    keep_s, every_s = to_seconds(keep, keep_unit), to_seconds(every, every_unit)
    drill.verdict(base_backups_kept(listed, prefix, time.time(), keep_s, every_s))


@then(parsers.parse('WAL in "{location}" is kept {keep:g} {unit}'))
def wal_retained(
    drill: Drill,
    storage: ObjectStorage,
    database: Database,
    location: str,
    keep: float,
    unit: str,
) -> None:
    position = wal_position(drill, database)  # for the segment size
    prefix = split_location(location)[1]
    listed = archive(drill, storage, location)
    result = wal_kept(listed, prefix, position.per_log, time.time(), to_seconds(keep, unit))
    drill.verdict(result)


@then(
    parsers.parse(
        'the newest configuration snapshot in "{location}" is at most {limit:g} {unit} old'
    )
)
def config_snapshot_age(
    drill: Drill, storage: ObjectStorage, location: str, limit: float, unit: str
) -> None:
    snapshots = held(archive(drill, storage, location), lambda key: not key.endswith("/"))
    result = newest_age(
        "configuration snapshot age", "configuration snapshot", snapshots, time.time(),
        to_seconds(limit, unit),
    )  # fmt: skip
    drill.verdict(result)


@then("the Redis primary appends with appendfsync everysec")
def redis_aof(drill: Drill, cache: Cache) -> None:
    def read() -> dict[str, str]:
        with cache.client("primary") as client:
            got = client.config_get("append*")
        return {_text(k): _text(v) for k, v in got.items()}

    config = drill.observed("CONFIG GET append* on the Redis primary", read)
    drill.verdict(aof_everysec("the Redis primary", config))


def _text(value: str | bytes) -> str:
    return value.decode() if isinstance(value, bytes) else value


@then(parsers.parse('the bucket "{bucket}" is versioned in {region}'))
def bucket_versioned(drill: Drill, storage: ObjectStorage, bucket: str, region: str) -> None:
    status = drill.observed(
        f"s3 {region}: versioning of {bucket}", partial(storage.versioning, region, bucket)
    )
    drill.verdict(versioned(bucket, region, status))
