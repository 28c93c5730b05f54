"""Replication of a bucket between regions, as the stores themselves report it.

Each object's latest version is read in both regions: the content hash is computed from the
bytes each store returns, and the replication status is the one each store reports for it
(S3's and MinIO's `x-amz-replication-status`: COMPLETED on the source once replicated, REPLICA
on the copy).
"""

from __future__ import annotations

from dataclasses import dataclass

from drillbook.checks.result import CheckResult

SOURCE_DONE = "COMPLETED"
TARGET_COPY = "REPLICA"
DELETE_MARKER = "delete marker"


@dataclass(frozen=True)
class ObjectState:
    """An object's latest version as one region's store returned it."""

    version_id: str | None
    sha256: str
    replication_status: str | None


def replicated(
    bucket: str,
    source: tuple[str, dict[str, ObjectState]],
    target: tuple[str, dict[str, ObjectState]],
) -> CheckResult:
    """Every object of `bucket` in the source region is in the target region as the same
    version with the same content, reported COMPLETED by the source and REPLICA by the target.

    `source` and `target` are (region, key -> state). The figure is the number of objects that
    are not; an empty source bucket is not a replication measured.
    """
    (source_region, at_source), (target_region, at_target) = source, target
    name = f"objects not replicated to {target_region}"
    route = f"{bucket} from {source_region} to {target_region}"
    if not at_source:
        explanation = f"{name} not measured: {bucket} holds no object in {source_region}"
        return CheckResult(name, None, "objects", 0, False, explanation, {"objects": 0})
    problems = {
        key: problem
        for key, state in sorted(at_source.items())
        if (problem := _problem(state, at_target.get(key)))
    }
    details = {
        "objects": len(at_source),
        "not_replicated": len(problems),
        "problems": dict(list(problems.items())[:20]),
    }
    if problems:
        first = next(iter(problems.items()))
        explanation = (
            f"{len(problems)} of {len(at_source)} objects of {route} not replicated with the "
            f"same content; first: {first[0]}: {first[1]}"
        )
    else:
        explanation = (
            f"all {len(at_source)} objects of {route} replicated: same version and SHA-256, "
            f"{SOURCE_DONE} at the source, {TARGET_COPY} at the target"
        )
    return CheckResult(name, len(problems), "objects", 0, not problems, explanation, details)


def _problem(source: ObjectState, target: ObjectState | None) -> str | None:
    if target is None:
        return "missing in the target region"
    if target.version_id != source.version_id:
        return f"target holds version {target.version_id}, source {source.version_id}"
    if target.sha256 != source.sha256:
        return f"content differs: SHA-256 {target.sha256} at the target, {source.sha256}"
    if source.replication_status != SOURCE_DONE:
        return f"source reports replication status {source.replication_status}"
    if target.replication_status != TARGET_COPY:
        return f"target reports replication status {target.replication_status}"
    return None


def versions_match(
    location: str,
    source: tuple[str, dict[tuple[str, str], str]],
    target: tuple[str, dict[tuple[str, str], str]],
) -> CheckResult:
    """Every version and delete marker of `location` in the source region exists in the target
    region under the same version id with the same ETag (the content digest each store
    reports). `source` and `target` are (region, (key, version id) -> ETag or DELETE_MARKER);
    the figure is the number of versions that differ or are missing."""
    (source_region, at_source), (target_region, at_target) = source, target
    name = f"versions differing in {target_region}"
    route = f"{location} from {source_region} to {target_region}"
    if not at_source:
        explanation = f"{name} not measured: {location} holds no version in {source_region}"
        return CheckResult(name, None, "versions", 0, False, explanation, {"versions": 0})
    differing = {
        f"{key} {version}": f"{etag} at the source, {at_target.get((key, version), 'missing')}"
        for (key, version), etag in sorted(at_source.items())
        if at_target.get((key, version)) != etag
    }
    details = {"versions": len(at_source), "differing": dict(list(differing.items())[:20])}
    if differing:
        first = next(iter(differing.items()))
        explanation = (
            f"{len(differing)} of {len(at_source)} versions of {route} missing or different; "
            f"first: {first[0]}: {first[1]} at the target"
        )
    else:
        explanation = (
            f"all {len(at_source)} versions and delete markers of {route} are in the target "
            "with the same version id and ETag"
        )
    return CheckResult(name, len(differing), "versions", 0, not differing, explanation, details)
