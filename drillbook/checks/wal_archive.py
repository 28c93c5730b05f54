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
