"""Every object-storage assertion step fails, naming figure and threshold, when the drill
broke it (and passes when it did not)."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path
from types import SimpleNamespace

import pytest

from drillbook.capabilities.operation import fault
from drillbook.drill import CheckFailed, Drill, MissingStep
from drillbook.faults.journal import FaultJournal
from drillbook.objects import all_versions, current
from drillbook.workload import History
from steps import storage
from tests.drills import fault_at, make_drill, restore_at
from tests.unit.test_crr import BLOCKED, BUCKET, RESTORED_AT, T0, samples

pytestmark = pytest.mark.filterwarnings("ignore:.*not added to the Allure report")

PRIMARY, DR = "ap-southeast-1", "ap-northeast-1"
REPLICATION = "proxy s3-crr"
# replication to the DR region as the steps see it: its link and the link's fault target
NETWORK = SimpleNamespace(target=lambda link: f"proxy {link}")


def drill_with(history: History, tmp_path: Path, *, restored: bool = True) -> Drill:
    """Replication blocked 5 s after the samples start, restored at RESTORED_AT."""
    fault_at(history, T0 + 5, target=REPLICATION, kind="cut")
    if restored:
        restore_at(history, RESTORED_AT, target=REPLICATION)
    return make_drill(history, tmp_path)


class Regions:
    """Object storage whose regions' S3 clients are the given fakes."""

    regions = [PRIMARY, DR]
    primary_region, dr_region = PRIMARY, DR

    def __init__(self, primary: object = None, dr: object = None) -> None:
        self.clients = {PRIMARY: primary, DR: dr}

    def replication_link(self, region: str) -> str:
        return "s3-crr"

    def current(self, region: str, bucket: str, key: str):
        return current(self.clients[region], bucket, key)

    def all_versions(self, region: str, bucket: str, prefix: str = ""):
        return all_versions(self.clients[region], bucket, prefix)


STORAGE = Regions()


def test_alert_step_fails_when_the_lag_never_crossed(tmp_path):
    short = [(0.02, 0)] * 5 + [(float(n), n) for n in range(1, 71)] + [(0.03, 0)] * 5
    storage.lag_alert_raised(drill_with(samples(short), tmp_path), STORAGE, NETWORK, BUCKET, 60)
    with pytest.raises(CheckFailed, match=r"CRR lag alert check fail.*threshold 75 s"):
        storage.lag_alert_raised(drill_with(samples(short), tmp_path), STORAGE, NETWORK, BUCKET, 75)


def test_alert_step_needs_the_restore(tmp_path):
    drill = drill_with(samples(BLOCKED), tmp_path, restored=False)
    with pytest.raises(MissingStep, match="proxy s3-crr was never restored.*is restored"):
        storage.lag_alert_raised(drill, STORAGE, NETWORK, BUCKET, 60)


def test_drain_step_fails_when_canaries_still_wait(tmp_path):
    stuck = samples(BLOCKED[:-5] + [(80.0, 75)] * 5)
    with pytest.raises(CheckFailed, match=r"CRR backlog drained check"):
        storage.backlog_drained_within(
            drill_with(stuck, tmp_path), STORAGE, NETWORK, BUCKET, 15, "minutes"
        )
    storage.backlog_drained_within(
        drill_with(samples(BLOCKED), tmp_path), STORAGE, NETWORK, BUCKET, 15, "minutes"
    )


def test_drain_step_measures_from_the_restore_of_replication(tmp_path):
    """Another target's restore is not the end of the replication fault."""
    history = samples(BLOCKED)
    fault_at(history, T0 + 5, target=REPLICATION, kind="cut")
    restore_at(history, T0 + 10, target="proxy llm")
    with pytest.raises(MissingStep, match="proxy s3-crr was never restored"):
        storage.backlog_drained_within(
            make_drill(history, tmp_path), STORAGE, NETWORK, BUCKET, 15, "minutes"
        )


def test_lag_step_fails_above_the_limit(tmp_path):
    with pytest.raises(CheckFailed, match=r"CRR lag check fail.*threshold 60 s"):
        storage.lag_at_most(drill_with(samples(BLOCKED[:-5]), tmp_path), BUCKET, 60, "seconds")
    storage.lag_at_most(drill_with(samples(BLOCKED), tmp_path), BUCKET, 60, "seconds")


def test_the_drain_wait_counts_only_samples_since_the_restore(tmp_path):
    drained = samples(BLOCKED[:5])  # no canary waiting, before any fault
    poll = storage.backlog_drained(make_drill(drained, tmp_path), STORAGE, NETWORK, BUCKET)
    assert poll()[0]
    drill = drill_with(samples(BLOCKED), tmp_path)
    assert storage.backlog_drained(drill, STORAGE, NETWORK, BUCKET)()[0]
    assert drill.recovered_at == pytest.approx(T0 + 79.01)  # the last sample, since the restore
    history = samples(BLOCKED[:5])
    fault_at(history, T0 + 4.5, target=REPLICATION)
    restore_at(history, T0 + 100, target=REPLICATION)
    poll = storage.backlog_drained(make_drill(history, tmp_path), STORAGE, NETWORK, BUCKET)
    assert not poll()[0]


class StoredObject:
    """What get_object answers for one key in one region."""

    def __init__(self, body: bytes, status: str, version: str = "v1") -> None:
        self.body, self.status, self.version = body, status, version

    def get_object(self, Bucket: str, Key: str) -> dict:
        body = io.BytesIO(self.body)
        return {"Body": body, "ReplicationStatus": self.status, "VersionId": self.version}


def regions(primary: bytes, dr: bytes, dr_version: str = "v1") -> Regions:
    """Two regions holding these bodies under the key, the primary as version v1."""
    return Regions(StoredObject(primary, "COMPLETED"), StoredObject(dr, "REPLICA", dr_version))


KEY = "exports/a.json"


def with_artifact(drill: Drill) -> Drill:
    sha = hashlib.sha256(b"v1").hexdigest()
    drill.remember(storage.Artifact(BUCKET, KEY, sha, "v1"), KEY)
    return drill


def artifact_drill(tmp_path: Path) -> Drill:
    return with_artifact(make_drill(History(), tmp_path, t0=T0))


def test_artifact_step_fails_when_a_region_has_other_content(tmp_path):
    both = f"{PRIMARY} and {DR}"
    with pytest.raises(CheckFailed, match=r"artifact exports/a.json check fail") as err:
        storage.artifact_intact(artifact_drill(tmp_path), regions(b"v1", b"v0"), KEY, both)
    assert "in 1 of 2 regions" in str(err.value)
    older = regions(b"v1", b"v1", dr_version="v0")  # same bytes, older version
    with pytest.raises(CheckFailed, match="in 1 of 2 regions"):
        storage.artifact_intact(artifact_drill(tmp_path), older, KEY, both)
    storage.artifact_intact(artifact_drill(tmp_path), regions(b"v1", b"v1"), KEY, both)


def test_artifact_step_reads_each_region_once_for_every_then(tmp_path):
    """A replica that copies the object after the first reading changes no later Then."""
    drill = artifact_drill(tmp_path)
    both = f"{PRIMARY} and {DR}"
    with pytest.raises(CheckFailed, match="in 1 of 2 regions"):
        storage.artifact_intact(drill, regions(b"v1", b"v0"), KEY, both)
    with pytest.raises(CheckFailed, match="in 1 of 2 regions"):
        storage.artifact_intact(drill, regions(b"v1", b"v1"), KEY, both)


def test_artifact_step_needs_the_artifact(tmp_path):
    drill = make_drill(History(), tmp_path, t0=T0)
    with pytest.raises(MissingStep, match='needs \'Given an artifact "exports/a.json" is stored'):
        storage.artifact_intact(drill, regions(b"v1", b"v1"), KEY, PRIMARY)


def test_the_back_wait_remembers_when_the_region_serves_the_artifact(tmp_path):
    drill = with_artifact(make_drill(History(), tmp_path, t0=T0))
    poll = storage.artifact_back(drill, regions(b"v1", b"v0"), KEY, DR)
    done, seen = poll()
    assert not done and "want version v1" in seen
    assert not drill.knows(storage.ArtifactBack, f"{KEY} in {DR}")
    assert storage.artifact_back(drill, regions(b"v1", b"v1"), KEY, DR)()[0]
    back = drill.recall(storage.ArtifactBack, f"{KEY} in {DR}").at
    assert drill.recovered_at == back


DELETED = f"object {BUCKET}/{KEY}"


def deleted_at(history: History, tmp_path: Path, at: float) -> Drill:
    """A drill whose artifact was deleted by mistake at `at`."""
    fault_at(history, at, target=DELETED, kind="deleted by mistake")
    drill = make_drill(history, tmp_path)
    drill.remember(storage.ArtifactDeleted(DELETED), KEY)
    return drill


def test_recovery_step_fails_past_the_limit_and_when_never_back(tmp_path):
    drill = deleted_at(History(), tmp_path, T0)
    with pytest.raises(CheckFailed, match=r"recovery check fail.*never completed"):
        storage.artifact_recovered_within(drill, STORAGE, KEY, 15, "minutes")
    drill.remember(storage.ArtifactBack(T0 - 1), f"{KEY} in {DR}")  # before the delete
    with pytest.raises(CheckFailed, match=r"recovery check fail.*never completed"):
        storage.artifact_recovered_within(drill, STORAGE, KEY, 15, "minutes")
    drill.remember(storage.ArtifactBack(T0 + 1000), f"{KEY} in {DR}")
    with pytest.raises(CheckFailed, match=r"recovery check fail.*threshold 900 s"):
        storage.artifact_recovered_within(drill, STORAGE, KEY, 15, "minutes")
    drill.remember(storage.ArtifactBack(T0 + 2), f"{KEY} in {DR}")
    drill.remember(storage.ArtifactBack(T0 + 1), f"{KEY} in {PRIMARY}")
    storage.artifact_recovered_within(drill, STORAGE, KEY, 15, "minutes")
    assert drill.results[-1].figure == pytest.approx(2)


def test_recovery_is_timed_from_the_delete_not_from_an_earlier_fault(tmp_path):
    history = History()
    fault_at(history, T0 - 600, target=REPLICATION, kind="cut")  # the scenario's T0
    drill = deleted_at(history, tmp_path, T0)
    drill.remember(storage.ArtifactBack(T0 - 1), f"{KEY} in {PRIMARY}")  # back before the delete
    drill.remember(storage.ArtifactBack(T0 + 3), f"{KEY} in {DR}")
    storage.artifact_recovered_within(drill, STORAGE, KEY, 15, "minutes")
    assert drill.t0 == T0 - 600 and drill.results[-1].figure == pytest.approx(3)


def test_recovery_step_needs_the_delete(tmp_path):
    with pytest.raises(MissingStep, match="is deleted by mistake"):
        storage.artifact_recovered_within(
            make_drill(History(), tmp_path, t0=T0), STORAGE, KEY, 15, "minutes"
        )


def test_the_delete_and_the_restore_are_the_fault_and_its_end(tmp_path):
    drill = with_artifact(make_drill(History(), tmp_path))
    drill.journal = FaultJournal(tmp_path / "journal.jsonl", progress=lambda _line: None)
    done = []
    versions = {"v1": "original"}
    fake = SimpleNamespace(
        primary_region=PRIMARY,
        delete_by_mistake=lambda bucket, key: fault(
            "deleted by mistake",
            f"object {bucket}/{key}",
            lambda: done.append("delete"),
            lambda: (done.append("restore"), versions.update(v2="copy")),
        ),
        versions_of=lambda region, bucket, key: list(versions),
        current=lambda region, bucket, key: SimpleNamespace(version_id="v2"),
    )
    with pytest.raises(MissingStep, match="is deleted by mistake"):
        storage.artifact_restored(drill, fake, KEY)
    storage.artifact_deleted(drill, fake, KEY)
    storage.artifact_restored(drill, fake, KEY)
    assert done == ["delete", "restore"]
    assert drill.t0 is not None and drill.restored_at(f"object {BUCKET}/{KEY}") is not None
    # the copy is the version each region must now serve
    assert drill.recall(storage.Artifact, KEY).version_id == "v2"


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


def listing_regions(source: list, target: list) -> Regions:
    return Regions(VersionListing(source), VersionListing(target))


HISTORY_OF_A = [("a", "v1", '"e1"'), ("a", "v2", None), ("a", "v3", '"e1"')]


def test_versions_step_fails_when_a_version_or_marker_is_missing_or_differs(tmp_path):
    def drill() -> Drill:
        return make_drill(History(), tmp_path, t0=T0)

    same = listing_regions(HISTORY_OF_A, HISTORY_OF_A)
    storage.same_versions(drill(), same, BUCKET, PRIMARY, DR)
    no_marker = listing_regions(HISTORY_OF_A, [HISTORY_OF_A[0], HISTORY_OF_A[2]])
    with pytest.raises(
        CheckFailed, match=r"versions differing in ap-northeast-1 check fail"
    ) as err:
        storage.same_versions(drill(), no_marker, BUCKET, PRIMARY, DR)
    assert "1 of 3 versions" in str(err.value) and "a v2: delete marker" in str(err.value)
    other = listing_regions(HISTORY_OF_A, [*HISTORY_OF_A[:2], ("a", "v3", '"e2"')])
    with pytest.raises(CheckFailed, match=r'a v3: "e1" at the source, "e2" at the target'):
        storage.same_versions(drill(), other, BUCKET, PRIMARY, DR)
    with pytest.raises(CheckFailed, match="not measured"):
        storage.same_versions(drill(), listing_regions([], []), BUCKET, PRIMARY, DR)


def test_versions_are_read_once_for_every_then(tmp_path):
    drill = make_drill(History(), tmp_path, t0=T0)
    storage.same_versions(drill, listing_regions(HISTORY_OF_A, HISTORY_OF_A), BUCKET, PRIMARY, DR)
    later = listing_regions(HISTORY_OF_A, HISTORY_OF_A[:1])  # the live buckets change after
    storage.same_versions(drill, later, BUCKET, PRIMARY, DR)
