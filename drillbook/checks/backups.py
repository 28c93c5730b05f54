"""The backup matrix (seed 3.1) as checks of what the archives hold, read from the stores'
version listings as they would be read live: the newest base backup's age, WAL shipped up to
the segment the primary writes, what the retention keeps, the Redis AOF setting, the bucket's
versioning, the configuration snapshots' age.

Retention is judged from the archive's contents: nothing the retention covers may be missing
(a gap between base backups wider than their interval, a WAL segment missing from the run)
or deleted early (a delete marker on an item written less than the retention before it). An
archive younger than its retention can only be judged over its own age, and the explanation
says so: a 35-day retention over a 10-minute archive shows nothing missing in 10 minutes.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence

from drillbook.checks.result import CheckResult, not_measured
from drillbook.checks.rows import SHOWN
from drillbook.checks.wal_archive import WAL_FILE
from drillbook.objects import Listed

# A base backup lands in `<prefix>/%Y%m%d%H/`: the data directory's tar and its manifest.
BACKUP_FOLDER = re.compile(r"\d{10}")
BACKUP_FILES = ("base.tar.gz", "backup_manifest")
DAY_S = 86400.0


def held(listed: Sequence[Listed], is_item: Callable[[str], bool]) -> list[Listed]:
    """The items an archive holds now: each key's latest version, unless it is deleted."""
    return [x for x in listed if x.latest and not x.deleted and is_item(x.key)]


def base_backups(listed: Sequence[Listed], prefix: str) -> list[Listed]:
    """The manifests of the complete base backups held: a folder holding its manifest and a
    non-empty tar (the shipper may upload either first, and either may be lost)."""
    folders: dict[str, dict[str, Listed]] = {}
    for x in held(listed, is_backup_file(prefix)):
        folder, _, name = x.key.removeprefix(f"{prefix}/").partition("/")
        folders.setdefault(folder, {})[name] = x
    return [
        files["backup_manifest"]
        for files in folders.values()
        if set(BACKUP_FILES) <= set(files) and files["base.tar.gz"].size > 0
    ]


def is_backup_file(prefix: str) -> Callable[[str], bool]:
    """Whether a key is one of a base backup's files under `prefix`."""

    def test(key: str) -> bool:
        folder, _, name = key.removeprefix(f"{prefix}/").partition("/")
        return BACKUP_FOLDER.fullmatch(folder) is not None and name in BACKUP_FILES

    return test


def segment_of(prefix: str) -> Callable[[str], bool]:
    """Whether a key is a WAL segment directly under `prefix` (not a .history, .backup or
    .partial file)."""
    return lambda key: WAL_FILE.fullmatch(key.removeprefix(f"{prefix}/")) is not None


def segments_per_log(segment_bytes: int) -> int:
    """How many segments a WAL file name's log part counts (256 with 16 MB segments)."""
    return 2**32 // segment_bytes


def newest_age(
    name: str, what: str, items: Sequence[Listed], now: float, limit_s: float
) -> CheckResult:
    """The age of the newest of `items` (what the store says it wrote) against `limit_s`; not
    measured when the archive holds none."""
    if not items:
        return not_measured(name, "s", limit_s, f"no {what} in the archive")
    newest = max(items, key=lambda x: x.written_at)
    age = max(0.0, now - newest.written_at)
    explanation = (
        f"the newest {what} ({newest.key}) is {_span(age)} old, limit {_span(limit_s)}; "
        f"{len(items)} held"
    )
    details = {"newest": newest.key, "written_at": newest.written_at, "held": len(items)}
    return CheckResult(name, age, "s", limit_s, age <= limit_s, explanation, details)


def wal_shipped(
    listed: Sequence[Listed],
    prefix: str,
    current: int,
    per_log: int,
    archive_timeout_s: float,
    now: float,
    limit_s: float,
) -> CheckResult:
    """WAL archiving's lag. When every segment before `current` (the number of the segment
    the primary writes) is in the archive, the lag is bounded by `archive_timeout_s`: the
    segment being written is switched and shipped within it (0 switches never: unbounded).
    Otherwise the figure is the time since archiving last shipped a segment, the missing ones
    named: a segment completed moments ago and not shipped yet passes, archiving stalled for
    longer than `limit_s` fails. Segments are told apart by number, whichever timeline holds
    each."""
    name = "WAL archiving lag"
    segments = held(listed, segment_of(prefix))
    if not segments:
        return not_measured(name, "s", limit_s, f"no WAL segment in {prefix}/")
    numbers = {_number(_name(x.key, prefix), per_log) for x in segments}
    # the segment just before the one being written must be there too (segments count from 1)
    first = min(min(numbers), max(1, current - 1))
    missing = [n for n in range(first, current) if n not in numbers]
    writing = _segment_name(current, per_log)
    details: dict = {"current": writing, "segments": len(segments)}
    if not missing:
        bounded = 0 < archive_timeout_s <= limit_s
        explanation = (
            f"every segment before {writing}, the one the primary writes, is shipped; "
            + (
                f"the lag is bounded by archive_timeout {archive_timeout_s:g} s"
                if archive_timeout_s > 0
                else "archive_timeout is 0, so a segment that fills slowly waits unbounded"
            )
        )
        figure = archive_timeout_s if archive_timeout_s > 0 else float("inf")
        return CheckResult(name, figure, "s", limit_s, bounded, explanation, details)
    newest = max(segments, key=lambda x: x.written_at)
    lag = max(0.0, now - newest.written_at)
    shown = [_segment_name(n, per_log) for n in missing[:SHOWN]]
    explanation = (
        f"{len(missing)} completed segments before {writing} not shipped yet "
        f"({', '.join(shown)}); archiving last shipped a segment ({newest.key}) {_span(lag)} ago"
    )
    details["missing"] = shown
    return CheckResult(name, lag, "s", limit_s, lag <= limit_s, explanation, details)


def base_backups_kept(
    listed: Sequence[Listed], prefix: str, now: float, keep_s: float, every_s: float
) -> CheckResult:
    """Base backups kept `keep_s`: none deleted younger than that, and no gap wider than
    `every_s` (a backup missing) between the ones held within the retention, counting from its
    start when an older backup shows the archive reaches back that far."""
    backups = sorted(x.written_at for x in base_backups(listed, prefix))
    start = now - keep_s
    window = [at for at in backups if at >= start]
    if len(window) < len(backups):
        window.insert(0, start)
    gaps = [
        f"{_span(later - earlier)} between backups"
        for earlier, later in zip(window, window[1:], strict=False)
        if later - earlier > every_s
    ]
    early = _deleted_early(listed, is_backup_file(prefix), keep_s)
    items = base_backups(listed, prefix)
    return _kept("base backups kept", "base backups", items, early + gaps, now, keep_s)


def wal_kept(
    listed: Sequence[Listed], prefix: str, per_log: int, now: float, keep_s: float
) -> CheckResult:
    """WAL kept `keep_s`: none deleted younger than that, and the segments held within the
    retention an unbroken run (by segment number, whichever timeline holds each)."""
    is_segment = segment_of(prefix)
    recent = [x for x in held(listed, is_segment) if x.written_at >= now - keep_s]
    numbers = {_number(_name(x.key, prefix), per_log) for x in recent}
    missing = _gaps(numbers, max(numbers) + 1) if numbers else []
    gaps = [f"segment {_segment_name(n, per_log)} missing" for n in missing]
    early = _deleted_early(listed, is_segment, keep_s)
    return _kept("WAL kept", "WAL segments", held(listed, is_segment), early + gaps, now, keep_s)


def aof_everysec(node: str, config: Mapping[str, str]) -> CheckResult:
    """Redis appends every write and fsyncs every second (`appendonly yes`, `appendfsync
    everysec`); the figure is the settings that differ."""
    wanted = {"appendonly": "yes", "appendfsync": "everysec"}
    wrong = {k: config.get(k) for k, v in wanted.items() if config.get(k) != v}
    shown = ", ".join(f"{k} {config.get(k)!r}" for k in wanted)
    explanation = f"{node}: {shown}" + (f"; expected {wanted}" if wrong else "")
    return CheckResult(
        f"AOF of {node}", len(wrong), "settings", 0, not wrong, explanation, {"config": config}
    )


def versioned(bucket: str, region: str, status: str) -> CheckResult:
    """The bucket keeps every version (seed 3.1: 版本化实时), so a deletion can be undone."""
    passed = status == "Enabled"
    explanation = f"versioning of {bucket} in {region} is {status}" + (
        "" if passed else ", not Enabled: a deleted or overwritten artifact is lost"
    )
    return CheckResult(
        f"versioning of {bucket}", 0 if passed else 1, "buckets", 0, passed, explanation, {}
    )


def _kept(
    name: str, what: str, items: Sequence[Listed], problems: list[str], now: float, keep_s: float
) -> CheckResult:
    """The retention's verdict: the `problems` found over the `items` held, judged over the
    retention or, for an archive younger than it, over the archive's age, said so."""
    if not items:
        return not_measured(name, "problems", 0, f"no {what} in the archive")
    age = now - min(x.written_at for x in items)
    over = (
        f"over the retention of {_span(keep_s)}"
        if age >= keep_s
        else f"over the archive's age, {_span(age)}, short of the retention of {_span(keep_s)}"
    )
    explanation = f"{len(items)} {what} held, {len(problems)} problems {over}" + (
        f": {'; '.join(problems[:SHOWN])}" if problems else ""
    )
    details = {"held": len(items), "problems": problems[:SHOWN], "judged_over_s": min(age, keep_s)}
    return CheckResult(name, len(problems), "problems", 0, not problems, explanation, details)


def _deleted_early(
    listed: Sequence[Listed], is_item: Callable[[str], bool], keep_s: float
) -> list[str]:
    """Delete markers on items deleted less than `keep_s` after they were first written."""
    written: dict[str, float] = {}
    early = []
    for x in listed:  # oldest first
        if not is_item(x.key):
            continue
        if not x.deleted:
            written.setdefault(x.key, x.written_at)
        elif x.key in written and x.written_at - written[x.key] < keep_s:
            early.append(f"{x.key} deleted {_span(x.written_at - written[x.key])} after written")
    return early


def _gaps(numbers: set[int], upto: int) -> list[int]:
    """The numbers from the smallest of `numbers` up to, not including, `upto` that it lacks."""
    return [n for n in range(min(numbers), upto) if n not in numbers] if numbers else []


def _name(key: str, prefix: str) -> str:
    return key.removeprefix(f"{prefix}/")


def _number(segment: str, per_log: int) -> int:
    return int(segment[8:16], 16) * per_log + int(segment[16:24], 16)


def _segment_name(number: int, per_log: int) -> str:
    """A segment number as its WAL file name, timeline left as ********."""
    return f"********{number // per_log:08X}{number % per_log:08X}"


def _span(seconds: float) -> str:
    if seconds >= DAY_S:
        return f"{seconds / DAY_S:.1f} d"
    if seconds >= 3600:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 60:.1f} min" if seconds >= 60 else f"{seconds:.1f} s"
