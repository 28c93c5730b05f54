"""The backup matrix's checks over version listings: each passes on an archive that holds what
seed 3.1 asks for and fails, naming the problem, on one that does not."""

from __future__ import annotations

from drillbook.checks.backups import (
    aof_everysec,
    base_backups,
    base_backups_kept,
    newest_age,
    segments_per_log,
    versioned,
    wal_kept,
    wal_shipped,
)
from drillbook.objects import Listed

NOW = 1_800_000_000.0
H, D = 3600.0, 86400.0
PER_LOG = segments_per_log(16 << 20)  # 256


def backup(folder: str, at: float, *, deleted: bool = False, latest: bool = True) -> list[Listed]:
    """A complete base backup: its tar and its manifest."""
    return [
        Listed(f"pg/{folder}/base.tar.gz", at, 0 if deleted else 900, latest, deleted),
        Listed(f"pg/{folder}/backup_manifest", at, 0 if deleted else 100, latest, deleted),
    ]


def backups(*pairs: tuple[str, float]) -> list[Listed]:
    return [x for folder, at in pairs for x in backup(folder, at)]


def segment(number: int, at: float, timeline: int = 1, per_log: int = PER_LOG) -> Listed:
    name = f"{timeline:08X}{number // per_log:08X}{number % per_log:08X}"
    return Listed(f"pg/{name}", at, 16 << 20, True)


def test_a_complete_base_backup_has_its_manifest_and_a_non_empty_tar():
    manifest_only = [Listed("pg/2026120300/backup_manifest", NOW, 100, True)]
    empty_tar = [*manifest_only, Listed("pg/2026120300/base.tar.gz", NOW, 0, True)]
    whole = backup("2026120306", NOW)
    assert base_backups(manifest_only + empty_tar + whole, "pg") == [whole[1]]


def test_the_newest_backup_is_judged_by_its_age():
    listed = backups(("2026120300", NOW - 8 * H), ("2026120306", NOW - 2 * H))
    found = base_backups(listed, "pg")
    fresh = newest_age("base backup age", "base backup", found, NOW, 6 * H)
    assert fresh.passed and fresh.figure == 2 * H and "2026120306" in fresh.explanation
    stale = newest_age("base backup age", "base backup", found[:1], NOW, 6 * H)
    assert not stale.passed and "8.0 h old" in stale.explanation
    none = newest_age("base backup age", "base backup", [], NOW, 6 * H)
    assert not none.passed and not none.measured


def shipped(current: int, timeout_s: float, listed: list[Listed], now: float = NOW):
    return wal_shipped(listed, "pg", current, PER_LOG, timeout_s, now, 60)


def test_wal_shipped_up_to_the_current_segment_is_bounded_by_archive_timeout():
    listed = [segment(n, NOW - 60 + n) for n in range(1, 6)]
    result = shipped(6, 60, listed)
    assert result.passed and result.figure == 60
    assert "bounded by archive_timeout" in result.explanation
    assert not shipped(6, 300, listed).passed
    never = shipped(6, 0, listed)
    assert not never.passed and "archive_timeout is 0" in never.explanation


def test_wal_archiving_stalled_for_more_than_the_limit_fails_naming_the_missing_segments():
    listed = [segment(n, NOW - 600) for n in range(1, 4)]
    result = shipped(7, 5, listed)
    assert not result.passed and result.figure == 600
    assert "3 completed segments" in result.explanation and "00000004" in result.explanation
    assert shipped(4, 5, listed, now=NOW - 590).passed  # segment 3 shipped 10 s before


def test_the_segment_just_before_the_current_one_must_be_there():
    only_later = [segment(n, NOW - 600) for n in (20, 21)]
    result = shipped(10, 5, only_later)
    assert not result.passed and "********0000000000000009" in result.explanation


def test_a_segment_of_another_timeline_fills_the_run():
    listed = [segment(1, NOW), segment(2, NOW), segment(3, NOW, timeline=2)]
    assert shipped(4, 5, listed).passed


def test_other_files_of_the_archive_are_not_segments():
    listed = [
        segment(1, NOW - 600),
        Listed("pg/00000002.history", NOW, 40, True),
        Listed("pg/000000010000000000000002.00000028.backup", NOW, 300, True),
        Listed("pg/000000010000000000000002.partial", NOW, 16 << 20, True),
    ]
    assert not shipped(3, 5, listed).passed  # segment 2 is only there as a .partial


def test_one_megabyte_segments_number_4096_to_a_log():
    per_log = segments_per_log(1 << 20)
    assert per_log == 4096
    listed = [segment(n, NOW, per_log=per_log) for n in range(4094, 4099)]
    assert wal_kept(listed, "pg", per_log, NOW, 7 * D).passed
    holed = [x for x in listed if not x.key.endswith("00000001")]  # 4097, log 1 segment 1
    result = wal_kept(holed, "pg", per_log, NOW, 7 * D)
    assert not result.passed and "********0000000100000001 missing" in result.explanation


def test_base_backups_kept_without_gaps_or_early_deletions_pass_over_the_archives_age():
    listed = backups(*((f"20261203{h:02d}", NOW - (12 - h) * H) for h in (0, 6, 12)))
    result = base_backups_kept(listed, "pg", NOW, 35 * D, 6 * H)
    assert result.passed and "short of the retention of 35.0 d" in result.explanation
    assert "3 base backups held" in result.explanation


def test_a_gap_between_base_backups_or_one_deleted_early_fails():
    gap = backups(("2026120100", NOW - 2 * D), ("2026120300", NOW))
    result = base_backups_kept(gap, "pg", NOW, 35 * D, 6 * H)
    assert not result.passed and "2.0 d between backups" in result.explanation
    early = [
        *backup("2026120300", NOW - 3 * D, latest=False),
        *backup("2026120300", NOW - 1 * D, deleted=True),
        *backup("2026120306", NOW),
    ]
    result = base_backups_kept(early, "pg", NOW, 35 * D, 6 * H)
    assert not result.passed and "deleted 2.0 d after written" in result.explanation


def test_a_gap_at_the_start_of_the_retention_counts_when_the_archive_reaches_back_that_far():
    listed = backups(("2026100100", NOW - 60 * D), ("2026120300", NOW - 1 * H))
    result = base_backups_kept(listed, "pg", NOW, 35 * D, 6 * H)
    assert not result.passed and "35.0 d between backups" in result.explanation


def test_an_old_backup_deleted_after_its_retention_is_no_problem():
    listed = [
        *backup("2026100100", NOW - 40 * D, latest=False),
        *backup("2026100100", NOW - 3 * D, deleted=True),
        *backup("2026120300", NOW - 1 * H),
    ]
    listed.sort(key=lambda x: (x.written_at, x.deleted))
    assert base_backups_kept(listed, "pg", NOW, 4 * D, 6 * H).passed


def test_wal_kept_fails_on_a_missing_segment_within_the_retention():
    whole = [segment(n, NOW - H) for n in range(1, 10)]
    assert wal_kept(whole, "pg", PER_LOG, NOW, 7 * D).passed
    holed = [x for x in whole if not x.key.endswith("05")]
    result = wal_kept(holed, "pg", PER_LOG, NOW, 7 * D)
    assert not result.passed and "segment ********0000000000000005 missing" in result.explanation
    assert not wal_kept([], "pg", PER_LOG, NOW, 7 * D).measured


def test_redis_must_append_every_second():
    assert aof_everysec("primary", {"appendonly": "yes", "appendfsync": "everysec"}).passed
    result = aof_everysec("primary", {"appendonly": "no", "appendfsync": "always"})
    assert not result.passed and result.figure == 2


def test_an_unversioned_bucket_fails():
    assert versioned("glancy-exports", "ap-southeast-1", "Enabled").passed
    result = versioned("glancy-exports", "ap-southeast-1", "Suspended")
    assert not result.passed and "Suspended" in result.explanation
