"""Object storage steps: canary objects measuring the CRR lag, replication to the DR region
blocked and restored at the network, an artifact deleted by mistake and restored from its
previous version (bucket versioning)."""

from __future__ import annotations

import hashlib
import time
from dataclasses import asdict, dataclass
from functools import partial

import pytest
from botocore.client import BaseClient
from botocore.exceptions import BotoCoreError, ClientError
from pytest_bdd import given, parsers, then, when

from drillbook.checks import CheckResult, duration_check
from drillbook.checks.crr import (
    crr_alert_raised,
    crr_drained,
    crr_lag_now,
    crr_samples,
    versions_match,
)
from drillbook.checks.duration import to_seconds
from drillbook.conditions import Poll, condition
from drillbook.drill import Drill
from drillbook.faults.journal import FaultJournal
from drillbook.objects import all_versions
from drillbook.stack import LocalStack
from drillbook.stack.objectstore import REPLICATION_PROXY, ObjectStore
from drillbook.workload.canary import CrrCanary
from steps import network
from steps.traffic import run_client


def store_in(environment: LocalStack, region: str) -> ObjectStore:
    stores = {store.region: store for store in environment.storage.stores}
    if region not in stores:
        raise LookupError(f"no object store in region {region!r}; the regions are {list(stores)}")
    return stores[region]


def replication_proxy(environment: LocalStack, region: str) -> str:
    """The proxy replication to `region` goes through: only the DR region is replicated to."""
    if region != environment.storage.dr.region:
        raise LookupError(
            f"no replication to region {region!r}: the primary region "
            f"{environment.storage.primary.region} replicates to {environment.storage.dr.region}"
        )
    return REPLICATION_PROXY


@given(parsers.parse('canary objects are written to bucket "{bucket}" every {interval:d} ms'))
def canaries(drill: Drill, environment: LocalStack, bucket: str, interval: int) -> None:
    storage = environment.storage
    canary = CrrCanary(
        drill.history,
        storage.primary.new_client,
        storage.dr.new_client,
        bucket,
        interval_s=interval / 1000,
        run=f"{int(time.time())}",
    )
    run_client(drill, canary)


@when(parsers.parse("replication to {region} is blocked"))
def replication_blocked(
    drill: Drill, environment: LocalStack, journal: FaultJournal, region: str
) -> None:
    network.cut(drill, environment, journal, replication_proxy(environment, region))


@when(parsers.parse("replication to {region} is restored"))
def replication_restored(
    drill: Drill, environment: LocalStack, journal: FaultJournal, region: str
) -> None:
    network.restored(drill, journal, replication_proxy(environment, region))


def replication_restored_at(drill: Drill) -> float:
    restored = drill.marks.get(f"{REPLICATION_PROXY} restored")
    if restored is None:
        raise AssertionError('replication was never restored: add "When replication ... restored"')
    return restored


@condition('the CRR lag of "{bucket}" is above {seconds:g} seconds')
def lag_above(request: pytest.FixtureRequest, drill: Drill, bucket: str, seconds: float) -> Poll:
    def poll() -> tuple[bool, str]:
        samples = crr_samples(drill.history, bucket)
        if not samples:
            return False, f"no CRR lag sample of {bucket} yet"
        value = samples[-1].value
        return value[
            "lag_s"
        ] > seconds, f"CRR lag {value['lag_s']:.1f} s, {value['pending']} waiting"

    return poll


@condition('the CRR backlog of "{bucket}" has drained')
def backlog_drained(request: pytest.FixtureRequest, drill: Drill, bucket: str) -> Poll:
    since = drill.marks.get(f"{REPLICATION_PROXY} restored", 0.0)

    def poll() -> tuple[bool, str]:
        samples = crr_samples(drill.history, bucket, start=since)
        pending = samples[-1].value["pending"] if samples else None
        return pending == 0, f"{pending} canaries waiting at the last sample"

    return poll


@then(
    parsers.parse(
        'the CRR lag of "{bucket}" crossed the {threshold:g} second alert threshold '
        "while replication was blocked"
    )
)
def lag_alert_raised(drill: Drill, bucket: str, threshold: float) -> None:
    window = (drill.require_t0(), replication_restored_at(drill))
    drill.check(crr_alert_raised(drill.history, bucket, threshold, window))


@then(parsers.parse('the CRR backlog of "{bucket}" drained within {limit:g} {unit} of the restore'))
def backlog_drained_within(drill: Drill, bucket: str, limit: float, unit: str) -> None:
    since = replication_restored_at(drill)
    drill.check(crr_drained(drill.history, bucket, since, to_seconds(limit, unit)))


@then(parsers.parse('the CRR lag of "{bucket}" is at most {limit:g} {unit}'))
def lag_at_most(drill: Drill, bucket: str, limit: float, unit: str) -> None:
    drill.stop_workload()
    drill.check(crr_lag_now(drill.history, bucket, to_seconds(limit, unit)))


@given(parsers.parse('an artifact "{key}" is stored in bucket "{bucket}"'))
def artifact_stored(drill: Drill, environment: LocalStack, key: str, bucket: str) -> None:
    body = f"export artifact {key}, written by the drill at {time.time():.6f}\n".encode()
    put = environment.storage.primary.client().put_object(Bucket=bucket, Key=key, Body=body)
    artifact = {
        "bucket": bucket,
        "key": key,
        "sha256": hashlib.sha256(body).hexdigest(),
        "version_id": put["VersionId"],
    }
    drill.facts[f"artifact {key}"] = artifact
    drill.evidence.attach_json(f"s3: artifact {bucket}/{key} stored", artifact)


@when(parsers.parse('the artifact "{key}" is deleted by mistake'))
def artifact_deleted(
    drill: Drill, environment: LocalStack, journal: FaultJournal, key: str
) -> None:
    artifact = known_artifact(drill, key)
    client = environment.storage.primary.client()
    bucket = artifact["bucket"]
    drill.mark_fault()
    journal.inject(
        "deleted by mistake",
        f"object {bucket}/{key}",
        partial(client.delete_object, Bucket=bucket, Key=key),
        partial(restore_previous_version, client, bucket, key),
    )
    drill.evidence.attach_json(
        f"s3: versions of {bucket}/{key} after the delete", versions_of(client, bucket, key)
    )


@when(parsers.parse('the artifact "{key}" is restored from its previous version'))
def artifact_restored(
    drill: Drill, environment: LocalStack, journal: FaultJournal, key: str
) -> None:
    artifact = known_artifact(drill, key)
    reverted = journal.revert_target(f"object {artifact['bucket']}/{key}")
    assert reverted, f"the artifact {key} was not deleted: nothing to restore"
    client = environment.storage.primary.client()
    # the copy is a new version: the one each region must hold for the artifact to be back
    artifact["version_id"] = client.head_object(Bucket=artifact["bucket"], Key=key)["VersionId"]
    drill.evidence.attach_json(
        f"s3: versions of {artifact['bucket']}/{key} after the restore",
        versions_of(client, artifact["bucket"], key),
    )


def restore_previous_version(client: BaseClient, bucket: str, key: str) -> None:
    """Copy the newest real version back over a delete marker (AWS's documented way to undo a
    delete in a versioned bucket); nothing to do when the current version is not a marker."""
    versions = versions_of(client, bucket, key)
    if not versions or not versions[0]["delete_marker"]:
        return
    previous = next((v for v in versions if not v["delete_marker"]), None)
    if previous is None:
        raise LookupError(f"{bucket}/{key} has no previous version to restore")
    source = {"Bucket": bucket, "Key": key, "VersionId": previous["version_id"]}
    client.copy_object(Bucket=bucket, Key=key, CopySource=source)


def versions_of(client: BaseClient, bucket: str, key: str) -> list[dict]:
    """Every version and delete marker of `key`, newest first."""
    listing = client.list_object_versions(Bucket=bucket, Prefix=key)
    entries = sorted(
        (
            (v["LastModified"], v["IsLatest"], v["VersionId"], marker)
            for marker, group in ((False, "Versions"), (True, "DeleteMarkers"))
            for v in listing.get(group, [])
            if v["Key"] == key
        ),
        reverse=True,
    )
    return [
        {"version_id": version, "delete_marker": marker, "modified": str(modified)}
        for modified, _latest, version, marker in entries
    ]


@then(parsers.parse('every version in "{location}" is the same in {source} and {target}'))
def same_versions(
    drill: Drill, environment: LocalStack, location: str, source: str, target: str
) -> None:
    """Every version and delete marker, not only the latest: versioning is what makes a
    deleted artifact recoverable, so the DR region must hold the history too."""
    bucket, _, prefix = location.partition("/")
    states = [
        (region, all_versions(store_in(environment, region).client(), bucket, prefix))
        for region in (source, target)
    ]
    drill.check(versions_match(location, *states))


def known_artifact(drill: Drill, key: str) -> dict:
    artifact = drill.facts.get(f"artifact {key}")
    if artifact is None:
        raise AssertionError(f'no artifact {key}: add "Given an artifact "{key}" is stored ..."')
    return artifact


@dataclass(frozen=True)
class Current:
    """The current version of a key as one region's store serves it."""

    version_id: str | None = None
    sha256: str | None = None
    replication_status: str | None = None
    error: str | None = None

    def matches(self, artifact: dict) -> bool:
        return (self.version_id, self.sha256) == (artifact["version_id"], artifact["sha256"])

    def __str__(self) -> str:
        if self.error:
            return f"unreadable ({self.error})"
        return f"version {self.version_id}, sha256 {self.sha256}, {self.replication_status}"


def current(client: BaseClient, bucket: str, key: str) -> Current:
    try:
        answer = client.get_object(Bucket=bucket, Key=key)
        digest = hashlib.sha256(answer["Body"].read()).hexdigest()
    except (BotoCoreError, ClientError) as exc:
        return Current(error=f"{type(exc).__name__}: {exc}")
    return Current(answer.get("VersionId"), digest, answer.get("ReplicationStatus"))


@condition('the artifact "{key}" is back in {region}')
def artifact_back(request: pytest.FixtureRequest, drill: Drill, key: str, region: str) -> Poll:
    """The region serves the artifact's expected version (the restored copy once restored)
    with its original content; the moment it does becomes a mark of the drill."""
    artifact = known_artifact(drill, key)
    client = store_in(request.getfixturevalue("environment"), region).client()

    def poll() -> tuple[bool, str]:
        found = current(client, artifact["bucket"], key)
        if found.matches(artifact):
            drill.marks[f"artifact {key} back in {region}"] = time.time()
        return found.matches(artifact), f"{found} (want version {artifact['version_id']})"

    return poll


@then(parsers.parse('the artifact "{key}" has its original content in {regions}'))
def artifact_intact(drill: Drill, environment: LocalStack, key: str, regions: str) -> None:
    artifact = known_artifact(drill, key)
    found = {
        region: current(store_in(environment, region).client(), artifact["bucket"], key)
        for region in regions.split(" and ")
    }
    intact = [region for region, state in found.items() if state.matches(artifact)]
    listing = "; ".join(f"{region}: {state}" for region, state in found.items())
    verdict = "has" if len(intact) == len(found) else "does not have"
    drill.check(
        CheckResult(
            f"artifact {key}",
            len(intact),
            "regions",
            len(found),
            len(intact) == len(found),
            f"artifact {key} {verdict} its original content (sha256 {artifact['sha256']}) in "
            f"{len(intact)} of {len(found)} regions: {listing}",
            {"found": {region: asdict(state) for region, state in found.items()}, **artifact},
        )
    )


@then(parsers.parse('the artifact "{key}" was recovered within {limit:g} {unit}'))
def artifact_recovered_within(drill: Drill, key: str, limit: float, unit: str) -> None:
    """From the mistaken delete (T0) to the artifact back in every region checked since."""
    t0 = drill.require_t0()
    back = [
        at
        for name, at in drill.marks.items()
        if name.startswith(f"artifact {key} back in") and at >= t0
    ]
    took = max(back) - t0 if back else None
    if back:
        drill.recovered_at = max(back)
    drill.check(duration_check(f"artifact {key} recovery", took, limit, unit))
