"""Every object-storage assertion step fails, naming figure and threshold, when the drill
broke it (and passes when it did not)."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path
from types import SimpleNamespace

import pytest

from drillbook.drill import Drill
from drillbook.workload import History
from steps import storage
from tests.unit.test_crr import BLOCKED, BUCKET, RESTORED_AT, T0, samples

pytestmark = pytest.mark.filterwarnings("ignore:.*not added to the Allure report")


def drill_with(history: History, tmp_path: Path) -> Drill:
    drill = Drill("s", Path("x.feature"), 10, set(), tmp_path, history=history)
    drill.t0 = T0 + 5
    drill.marks["s3-crr restored"] = RESTORED_AT
    return drill


def test_alert_step_fails_when_the_lag_never_crossed(tmp_path):
    short = [(0.02, 0)] * 5 + [(float(n), n) for n in range(1, 71)] + [(0.03, 0)] * 5
    storage.lag_alert_raised(drill_with(samples(short), tmp_path), BUCKET, 60)
    with pytest.raises(AssertionError, match=r"CRR lag alert check failed.*threshold 75 s"):
        storage.lag_alert_raised(drill_with(samples(short), tmp_path), BUCKET, 75)


def test_alert_step_needs_the_restore(tmp_path):
    drill = drill_with(samples(BLOCKED), tmp_path)
    del drill.marks["s3-crr restored"]
    with pytest.raises(AssertionError, match="replication was never restored"):
        storage.lag_alert_raised(drill, BUCKET, 60)


def test_drain_step_fails_when_canaries_still_wait(tmp_path):
    stuck = samples(BLOCKED[:-5] + [(80.0, 75)] * 5)
    with pytest.raises(AssertionError, match=r"CRR backlog drained check failed"):
        storage.backlog_drained_within(drill_with(stuck, tmp_path), BUCKET, 15, "minutes")
    storage.backlog_drained_within(drill_with(samples(BLOCKED), tmp_path), BUCKET, 15, "minutes")


def test_lag_step_fails_above_the_limit(tmp_path):
    with pytest.raises(AssertionError, match=r"CRR lag check failed.*threshold 60 s"):
        storage.lag_at_most(drill_with(samples(BLOCKED[:-5]), tmp_path), BUCKET, 60, "seconds")
    storage.lag_at_most(drill_with(samples(BLOCKED), tmp_path), BUCKET, 60, "seconds")


class StoredObject:
    """What get_object answers for one key in one region."""

    def __init__(self, body: bytes, status: str, version: str = "v1") -> None:
        self.body, self.status, self.version = body, status, version

    def get_object(self, Bucket: str, Key: str) -> dict:
        body = io.BytesIO(self.body)
        return {"Body": body, "ReplicationStatus": self.status, "VersionId": self.version}


def two_regions(primary: object, dr: object) -> SimpleNamespace:
    """An environment whose two regions' stores answer as `primary` and `dr` do."""
    stores = [
        SimpleNamespace(region=region, client=lambda store=store: store)
        for region, store in zip(("ap-southeast-1", "ap-northeast-1"), (primary, dr), strict=True)
    ]
    return SimpleNamespace(storage=SimpleNamespace(stores=stores))


def regions(primary: bytes, dr: bytes, dr_version: str = "v1") -> SimpleNamespace:
    """Two regions holding these bodies under the key, the primary as version v1."""
    return two_regions(StoredObject(primary, "COMPLETED"), StoredObject(dr, "REPLICA", dr_version))


def test_artifact_step_fails_when_a_region_has_other_content(tmp_path):
    key = "exports/a.json"
    drill = drill_with(History(), tmp_path)
    sha = hashlib.sha256(b"v1").hexdigest()
    drill.facts[f"artifact {key}"] = {
        "bucket": BUCKET,
        "key": key,
        "sha256": sha,
        "version_id": "v1",
    }
    both = "ap-southeast-1 and ap-northeast-1"
    with pytest.raises(AssertionError, match=r"artifact exports/a.json check failed") as err:
        storage.artifact_intact(drill, regions(b"v1", b"v0"), key, both)
    assert "in 1 of 2 regions" in str(err.value)
    with pytest.raises(AssertionError, match="in 1 of 2 regions"):  # same bytes, older version
        storage.artifact_intact(drill, regions(b"v1", b"v1", dr_version="v0"), key, both)
    storage.artifact_intact(drill, regions(b"v1", b"v1"), key, both)


def test_recovery_step_fails_past_the_limit_and_when_never_back(tmp_path):
    drill = drill_with(History(), tmp_path)
    key = "exports/a.json"
    with pytest.raises(AssertionError, match=r"recovery check failed.*never completed"):
        storage.artifact_recovered_within(drill, key, 15, "minutes")
    drill.marks[f"artifact {key} back in ap-northeast-1"] = drill.t0 - 1  # before the delete
    with pytest.raises(AssertionError, match=r"recovery check failed.*never completed"):
        storage.artifact_recovered_within(drill, key, 15, "minutes")
    drill.marks[f"artifact {key} back in ap-northeast-1"] = drill.t0 + 1000
    with pytest.raises(AssertionError, match=r"recovery check failed.*threshold 900 s"):
        storage.artifact_recovered_within(drill, key, 15, "minutes")


class VersionListing:
    """A store whose bucket lists the given versions: (key, version id, ETag or None for a
    delete marker)."""

    def __init__(self, versions: list[tuple[str, str, str | None]]) -> None:
        self.page = {
            "Versions": [{"Key": k, "VersionId": v, "ETag": e} for k, v, e in versions if e],
            "DeleteMarkers": [{"Key": k, "VersionId": v} for k, v, e in versions if not e],
        }

    def get_paginator(self, _operation: str) -> SimpleNamespace:
        return SimpleNamespace(paginate=lambda **_: [self.page])


def listing_regions(source: list, target: list) -> SimpleNamespace:
    return two_regions(VersionListing(source), VersionListing(target))


HISTORY_OF_A = [("a", "v1", '"e1"'), ("a", "v2", None), ("a", "v3", '"e1"')]


def test_versions_step_fails_when_a_version_or_marker_is_missing_or_differs(tmp_path):
    drill = drill_with(History(), tmp_path)
    same = listing_regions(HISTORY_OF_A, HISTORY_OF_A)
    storage.same_versions(drill, same, BUCKET, "ap-southeast-1", "ap-northeast-1")
    no_marker = listing_regions(HISTORY_OF_A, [HISTORY_OF_A[0], HISTORY_OF_A[2]])
    with pytest.raises(
        AssertionError, match=r"versions differing in ap-northeast-1 check failed"
    ) as err:
        storage.same_versions(drill, no_marker, BUCKET, "ap-southeast-1", "ap-northeast-1")
    assert "1 of 3 versions" in str(err.value) and "a v2: delete marker" in str(err.value)
    other = listing_regions(HISTORY_OF_A, [*HISTORY_OF_A[:2], ("a", "v3", '"e2"')])
    with pytest.raises(AssertionError, match=r'a v3: "e1" at the source, "e2" at the target'):
        storage.same_versions(drill, other, BUCKET, "ap-southeast-1", "ap-northeast-1")
    with pytest.raises(AssertionError, match="not measured"):
        storage.same_versions(
            drill, listing_regions([], []), BUCKET, "ap-southeast-1", "ap-northeast-1"
        )
