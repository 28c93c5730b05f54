"""Object storage steps: canary objects measuring the CRR lag, replication to the DR region
blocked and restored at the network, an artifact deleted by mistake and restored from its
previous version (bucket versioning)."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import partial
from typing import ClassVar

from pytest_bdd import given, parsers, then, when

from drillbook.bdd import performs, reverts
from drillbook.capabilities import Network, ObjectStorage
from drillbook.checks import duration_check
from drillbook.checks.artifacts import artifact_intact as artifact_check
from drillbook.checks.crr import (
    crr_alert_raised,
    crr_drained,
    crr_lag_now,
    crr_samples,
    versions_match,
)
from drillbook.checks.duration import to_seconds
from drillbook.checks.spot import content_problem
from drillbook.conditions import Poll, condition
from drillbook.drill import Drill, MissingStep
from drillbook.objects import Current, split_location
from drillbook.spot_check import SampleCheck
from drillbook.workload.canary import CrrCanary, canary_body
from drillbook.workload.downloads import ArtifactDownloads
from steps import spot_check_sample
from steps.network import inject

CANARY_SAMPLE = SampleCheck(
    check="canaries not replicated as written",
    unit="canaries",
    item="CRR 产物抽查",
    drawn="复制中断期间写入的对象",
    right="已复制到 DR Region 且内容一致",
)


@dataclass(frozen=True)
class Artifact:
    """An artifact the drill wrote: the version each region must serve for it to be there."""

    PROVIDED_BY: ClassVar[str] = 'Given an artifact "{key}" is stored in bucket "..."'
    bucket: str
    key: str
    sha256: str
    version_id: str | None


DELETE_STEP = 'When the artifact "{key}" is deleted by mistake'


@dataclass(frozen=True)
class ArtifactDeleted:
    """The mistaken delete of an artifact: the target its fault is journaled under."""

    PROVIDED_BY: ClassVar[str] = DELETE_STEP
    target: str


@dataclass(frozen=True)
class ArtifactBack:
    """When a wait saw the artifact served in a region as expected (key: "<key> in <region>")."""

    PROVIDED_BY: ClassVar[str] = "within N seconds the artifact ... is back in <region>"
    at: float


def replication_target(storage: ObjectStorage, network: Network) -> str:
    """The target the faults on replication to the DR region are journaled under."""
    return network.target(storage.replication_link(storage.dr_region))


def replication_restored_at(drill: Drill, storage: ObjectStorage, network: Network) -> float:
    return drill.require_restored(
        replication_target(storage, network), f"When replication to {storage.dr_region} is restored"
    )


@given(parsers.parse('canary objects are written to bucket "{bucket}" every {interval:d} ms'))
def canaries(drill: Drill, storage: ObjectStorage, bucket: str, interval: int) -> None:
    canary = CrrCanary(
        drill.history,
        partial(storage.new_client, storage.primary_region),
        partial(storage.new_client, storage.dr_region),
        bucket,
        interval_s=interval / 1000,
        run=f"{int(time.time())}",
        traced=True,
    )
    drill.run_client(canary)


@when(parsers.parse("replication to {region} is blocked"))
@performs("network.cut", link="replication to {region}")
def replication_blocked(
    drill: Drill, storage: ObjectStorage, network: Network, region: str
) -> None:
    link = storage.replication_link(region)
    inject(drill, network, link, network.cut(link))


@when(parsers.parse("replication to {region} is restored"))
@reverts("network.restore", link="replication to {region}")
def replication_restored(
    drill: Drill, storage: ObjectStorage, network: Network, region: str
) -> None:
    drill.restore(network.target(storage.replication_link(region)))


@condition('the CRR lag of "{bucket}" is above {seconds:g} seconds')
def lag_above(drill: Drill, bucket: str, seconds: float) -> Poll:
    def poll() -> tuple[bool, str]:
        samples = crr_samples(drill.history, bucket)
        if not samples:
            return False, f"no CRR lag sample of {bucket} yet"
        value = samples[-1].value
        lag = f"CRR lag {value['lag_s']:.1f} s, {value['pending']} waiting"
        return value["lag_s"] > seconds, lag

    return poll


@condition('the CRR backlog of "{bucket}" has drained')
def backlog_drained(drill: Drill, storage: ObjectStorage, network: Network, bucket: str) -> Poll:
    """No canary waiting at a sample taken since replication was last restored (since the
    start when it never was); after a fault, that sample is the drill's recovery."""
    since = drill.restored_at(replication_target(storage, network))

    def poll() -> tuple[bool, str]:
        samples = crr_samples(drill.history, bucket, start=since)
        pending = samples[-1].value["pending"] if samples else None
        if pending == 0:
            drill.recovered(samples[-1].end)
        return pending == 0, f"{pending} canaries waiting at the last sample"

    return poll


@then(
    parsers.parse(
        'the CRR lag of "{bucket}" crossed the {threshold:g} second alert threshold '
        "while replication was blocked"
    )
)
def lag_alert_raised(
    drill: Drill, storage: ObjectStorage, network: Network, bucket: str, threshold: float
) -> None:
    window = (drill.require_t0(), replication_restored_at(drill, storage, network))
    drill.verdict(crr_alert_raised(drill.history, bucket, threshold, window))


@then(parsers.parse('the CRR backlog of "{bucket}" drained within {limit:g} {unit} of the restore'))
def backlog_drained_within(
    drill: Drill, storage: ObjectStorage, network: Network, bucket: str, limit: float, unit: str
) -> None:
    since = replication_restored_at(drill, storage, network)
    drill.verdict(crr_drained(drill.history, bucket, since, to_seconds(limit, unit)))


@then(parsers.parse('the CRR lag of "{bucket}" is at most {limit:g} {unit}'))
def lag_at_most(drill: Drill, bucket: str, limit: float, unit: str) -> None:
    drill.verdict(crr_lag_now(drill.history, bucket, to_seconds(limit, unit)))


@given(parsers.parse('an artifact "{key}" is stored in bucket "{bucket}"'))
def artifact_stored(drill: Drill, storage: ObjectStorage, key: str, bucket: str) -> None:
    body = f"export artifact {key}, written by the drill at {time.time():.6f}\n".encode()
    stored = storage.put(storage.primary_region, bucket, key, body)
    artifact = Artifact(bucket, key, str(stored.sha256), stored.version_id)
    drill.remember(artifact, key)
    drill.evidence.attach_json(
        f"s3: artifact {bucket}/{key} stored in {storage.primary_region}",
        {"bucket": bucket, "key": key, "sha256": artifact.sha256, "version_id": stored.version_id},
    )


@given(parsers.parse('users download the artifact "{key}" every {interval:d} ms'))
def artifact_downloads(drill: Drill, storage: ObjectStorage, key: str, interval: int) -> None:
    """From the primary region, as users download an export: the traffic whose failures the
    plan's download-failure signal counts."""
    artifact = drill.recall(Artifact, key)
    client = partial(storage.new_client, storage.primary_region)
    drill.run_client(
        ArtifactDownloads(drill.history, client, artifact.bucket, key, interval / 1000)
    )


@when(parsers.parse('the artifact "{key}" is deleted by mistake'))
@performs("storage.delete_by_mistake", key="{key}")
def artifact_deleted(drill: Drill, storage: ObjectStorage, key: str) -> None:
    artifact = drill.recall(Artifact, key)
    operation = storage.delete_by_mistake(artifact.bucket, key)
    drill.apply(operation)
    drill.remember(ArtifactDeleted(operation.target), key)
    drill.evidence.attach_json(
        f"s3: versions of {artifact.bucket}/{key} after the delete",
        storage.versions_of(storage.primary_region, artifact.bucket, key),
    )


@when(parsers.parse('the artifact "{key}" is restored from its previous version'))
@reverts("storage.delete_by_mistake", key="{key}")
def artifact_restored(drill: Drill, storage: ObjectStorage, key: str) -> None:
    """The delete's revert, run now: the newest real version copied back over the marker."""
    artifact = drill.recall(Artifact, key)
    drill.restore(drill.recall(ArtifactDeleted, key).target)
    # the copy is a new version: the one each region must serve for the artifact to be back
    restored = storage.current(storage.primary_region, artifact.bucket, key)
    drill.remember(replace(artifact, version_id=restored.version_id), key)
    drill.evidence.attach_json(
        f"s3: versions of {artifact.bucket}/{key} after the restore",
        storage.versions_of(storage.primary_region, artifact.bucket, key),
    )


@condition('the artifact "{key}" is back in {region}')
def artifact_back(drill: Drill, storage: ObjectStorage, key: str, region: str) -> Poll:
    """The region serves the artifact's expected version (the restored copy once restored)
    with its original content; when it does is remembered, and after a fault it is the
    drill's recovery."""
    artifact = drill.recall(Artifact, key)

    def poll() -> tuple[bool, str]:
        found = storage.current(region, artifact.bucket, key)
        back = found.matches(artifact.version_id, artifact.sha256)
        if back:
            at = time.time()
            drill.remember(ArtifactBack(at), f"{key} in {region}")
            drill.recovered(at)
        return back, f"{found} (want version {artifact.version_id})"

    return poll


@then(parsers.parse('the artifact "{key}" has its original content in {regions}'))
def artifact_intact(drill: Drill, storage: ObjectStorage, key: str, regions: str) -> None:
    artifact = drill.recall(Artifact, key)
    found = {
        region: current(drill, storage, region, artifact.bucket, key)
        for region in regions.split(" and ")
    }
    drill.verdict(artifact_check(key, artifact.version_id, artifact.sha256, found))


@then(parsers.parse('the artifact "{key}" was recovered within {limit:g} {unit}'))
def artifact_recovered_within(
    drill: Drill, storage: ObjectStorage, key: str, limit: float, unit: str
) -> None:
    """From the mistaken delete (its own fault in the history, whatever other fault came
    first) to the artifact back in every region a wait saw it back in since."""
    deleted_at = drill.t0_of(drill.recall(ArtifactDeleted, key).target)
    if deleted_at is None:
        raise MissingStep(f"artifact {key} was never deleted: add {DELETE_STEP.format(key=key)!r}")
    back = [
        drill.recall(ArtifactBack, f"{key} in {region}").at
        for region in storage.regions
        if drill.knows(ArtifactBack, f"{key} in {region}")
    ]
    back = [at for at in back if at >= deleted_at]
    took = max(back) - deleted_at if back else None
    drill.verdict(duration_check(f"artifact {key} recovery", took, limit, unit))


@then(parsers.parse('every version in "{location}" is the same in {source} and {target}'))
def same_versions(
    drill: Drill, storage: ObjectStorage, location: str, source: str, target: str
) -> None:
    """Every version and delete marker, not only the latest: versioning is what makes a
    deleted artifact recoverable, so the DR region must hold the history too."""
    bucket, prefix = split_location(location)
    states = [
        (
            region,
            drill.observed(
                f"s3 {region}: every version of {bucket}/{prefix}",
                partial(storage.all_versions, region, bucket, prefix),
            ),
        )
        for region in (source, target)
    ]
    drill.verdict(versions_match(location, *states))


@then(
    parsers.parse(
        'a spot check of {n:d} canaries written to "{bucket}" while replication was blocked '
        "finds each in {region} with the content it was written with"
    )
)
def blocked_canaries_spot_check(
    drill: Drill,
    storage: ObjectStorage,
    network: Network,
    draw_seed: int,
    progress: Callable[[str], None],
    n: int,
    bucket: str,
    region: str,
) -> None:
    """Seed 4.3 for October (产物恢复): objects written while CRR could not reach the DR
    region, which only the backlog's replay after the restore can have brought there, each
    read back in `region` and hashed against the bytes the canary wrote."""
    start, end = drill.fault_window(replication_target(storage, network))
    written = [
        op.value["written"]
        for op in drill.history.ops(f"crr:{bucket}")
        if start <= op.start <= end and op.value.get("written")
    ]

    def verify(key: str) -> str | None:
        expected = hashlib.sha256(canary_body(key)).hexdigest()
        return content_problem(current(drill, storage, region, bucket, key), expected)

    population = {key: key for key in written}
    spot_check_sample(drill, progress, draw_seed, n, CANARY_SAMPLE, population, verify)


def current(drill: Drill, storage: ObjectStorage, region: str, bucket: str, key: str) -> Current:
    """The key's current version in the region as the Then steps read it: once, so that a
    replica copying it after the freeze cannot change what another Then sees."""
    return drill.observed(
        f"s3 {region}: current version of {bucket}/{key}",
        partial(storage.current, region, bucket, key),
    )
