"""The WAL archive shipped to object storage: which segments up to the last one archived (the
name `last-lsn.txt` holds) a region's replica of the archive bucket still lacks."""

from __future__ import annotations

import re
from collections.abc import Mapping

WAL_FILE = re.compile(r"[0-9A-F]{24}")


def last_segment(marker: str, where: str) -> str:
    """The WAL file name a `last-lsn.txt` holds; a clear error naming `where` otherwise."""
    name = marker.strip()
    if not WAL_FILE.fullmatch(name):
        raise ValueError(f"{where} holds {name[:60]!r}, not a WAL file name (24 hex digits)")
    return name


def missing_segments(
    source: Mapping[tuple[str, str], str],
    target: Mapping[tuple[str, str], str],
    prefix: str,
    last: str,
) -> tuple[int, list[str]]:
    """How many keys `<prefix>/<WAL file>` of `source` (key, version id -> ETag) there are up
    to `last`, and those of them, in order, whose version `target` does not hold with the
    same ETag. Later timelines sort after earlier ones, as WAL file names do."""
    wanted = sorted(
        (key, version, etag)
        for (key, version), etag in source.items()
        if (segment := _segment(key, prefix)) is not None and segment <= last
    )
    return len(wanted), [key for key, version, etag in wanted if target.get((key, version)) != etag]


def _segment(key: str, prefix: str) -> str | None:
    name = key.removeprefix(f"{prefix}/")
    return name if name != key and WAL_FILE.fullmatch(name) else None


def in_flight_at_cut(
    missing: list[str], written_at: Mapping[str, float], cut: float, lag_limit_s: float
) -> tuple[list[str], list[str]]:
    """The `missing` keys split into those in flight at the cut (epoch seconds), written at
    most `lag_limit_s` (the plan's CRR lag) before it, and the others. CRR keeps no order: a
    `last-lsn.txt` can reach the other region before a segment it names, and a cut then strands
    that segment there; that is the cut's doing, within the plan's lag, not CRR's failing. A key
    the source no longer lists is not in flight."""
    in_flight = [
        key for key in missing if key in written_at and cut - written_at[key] <= lag_limit_s
    ]
    return in_flight, [key for key in missing if key not in in_flight]
