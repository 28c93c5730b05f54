"""Which WAL segments of the shipped archive a region's replica still lacks, up to the last
segment `last-lsn.txt` names."""

from __future__ import annotations

import pytest

from drillbook.checks.wal_archive import in_flight_at_cut, last_segment, missing_segments

SEG = ["000000010000000000000003", "000000010000000000000004", "000000010000000000000005"]


def archive(*names: str, etag: str = "e") -> dict[tuple[str, str], str]:
    return {(f"pg/{name}", "v1"): f"{etag}-{name}" for name in names}


def test_segments_up_to_the_last_one_named_must_be_in_the_replica():
    source = archive(*SEG, "last-lsn.txt")
    replica = archive(SEG[0])

    assert missing_segments(source, replica, "pg", SEG[1]) == (2, [f"pg/{SEG[1]}"])
    assert missing_segments(source, archive(*SEG[:2]), "pg", SEG[1]) == (2, [])


def test_a_segment_with_another_etag_or_version_is_missing():
    source = archive(*SEG[:2])
    replica = archive(SEG[0]) | archive(SEG[1], etag="other")
    assert missing_segments(source, replica, "pg", SEG[1]) == (2, [f"pg/{SEG[1]}"])
    replica = archive(SEG[0]) | {(f"pg/{SEG[1]}", "v2"): f"e-{SEG[1]}"}
    assert missing_segments(source, replica, "pg", SEG[1]) == (2, [f"pg/{SEG[1]}"])


def test_only_wal_files_under_the_prefix_count():
    source = archive(SEG[0]) | {("pg/last-lsn.txt", "v1"): "x", (f"other/{SEG[0]}", "v1"): "y"}
    assert missing_segments(source, {}, "pg", SEG[2]) == (1, [f"pg/{SEG[0]}"])


def test_a_marker_that_names_no_wal_file_is_refused_naming_where():
    assert last_segment(f"{SEG[2]}\n", "s3://b/pg/last-lsn.txt") == SEG[2]
    with pytest.raises(ValueError, match=r"s3://b/pg/last-lsn.txt holds '0/5000060', not a WAL"):
        last_segment("0/5000060", "s3://b/pg/last-lsn.txt")


def test_a_segment_archived_within_the_crr_lag_before_the_cut_was_in_flight():
    written = {"pg/A": 1000.0, "pg/B": 1041.0, "pg/C": 1100.0}
    missing = ["pg/A", "pg/B", "pg/C", "pg/D"]
    in_flight, failing = in_flight_at_cut(missing, written, cut=1101.0, lag_limit_s=60.0)
    # A: 101 s before the cut, CRR's own failing; D: the source lists it no more
    assert (in_flight, failing) == (["pg/B", "pg/C"], ["pg/A", "pg/D"])
