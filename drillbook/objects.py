"""What a bucket holds, read from the store itself: each object's latest version with the
SHA-256 of its bytes and the replication status the store reports, how many versions
(writes) each key has, and every version with its ETag. Works against any S3 API (MinIO
locally, AWS S3 live)."""

from __future__ import annotations

import hashlib
import uuid
from collections import Counter
from dataclasses import dataclass
from typing import TypeVar

import boto3
from botocore.awsrequest import AWSRequest
from botocore.client import BaseClient
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

# How a version listing names a delete marker instead of an ETag.
DELETE_MARKER = "delete marker"
# How many differing versions a diff names.
FIRST_SHOWN = 20
T = TypeVar("T")


@dataclass(frozen=True)
class ObjectState:
    """An object's latest version as one region's store returned it."""

    version_id: str | None
    sha256: str
    replication_status: str | None
    # When the store says the version was written (epoch seconds, the store's clock, whole
    # seconds as the Last-Modified header gives it)
    written_at: float | None = None


def latest_objects(client: BaseClient, bucket: str, prefix: str = "") -> dict[str, ObjectState]:
    """Key -> its latest version, downloaded and hashed."""
    found = {}
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for listed in page.get("Contents", []):
            got = client.get_object(Bucket=bucket, Key=listed["Key"])
            found[listed["Key"]] = ObjectState(
                version_id=got.get("VersionId"),
                sha256=hashlib.sha256(got["Body"].read()).hexdigest(),
                replication_status=got.get("ReplicationStatus"),
                written_at=got["LastModified"].timestamp(),
            )
    return found


def version_counts(client: BaseClient, bucket: str, prefix: str = "") -> Counter[str]:
    """Key -> how many versions the bucket keeps of it (delete markers aside)."""
    counts: Counter[str] = Counter()
    paginator = client.get_paginator("list_object_versions")
    for page in paginator.paginate(Bucket=bucket, Prefix=prefix):
        counts.update(version["Key"] for version in page.get("Versions", []))
    return counts


def all_versions(client: BaseClient, bucket: str, prefix: str = "") -> dict[tuple[str, str], str]:
    """(key, version id) -> the version's ETag as the store reports it, or "delete marker"."""
    found = {}
    paginator = client.get_paginator("list_object_versions")
    for page in paginator.paginate(Bucket=bucket, Prefix=prefix):
        for version in page.get("Versions", []):
            found[(version["Key"], version["VersionId"])] = version["ETag"]
        for marker in page.get("DeleteMarkers", []):
            found[(marker["Key"], marker["VersionId"])] = DELETE_MARKER
    return found


@dataclass(frozen=True)
class Listed:
    """One version of a key, or a delete marker, as a version listing gives it: what an archive
    holds read without downloading it."""

    key: str
    # Last-Modified as the store reports it (epoch seconds): a marker's is when it was deleted
    written_at: float
    size: int
    latest: bool
    deleted: bool = False


def listing(client: BaseClient, bucket: str, prefix: str = "") -> list[Listed]:
    """Every version and delete marker under `prefix`, oldest first."""
    found = []
    paginator = client.get_paginator("list_object_versions")
    for page in paginator.paginate(Bucket=bucket, Prefix=prefix):
        found += [
            Listed(v["Key"], v["LastModified"].timestamp(), v["Size"], v["IsLatest"])
            for v in page.get("Versions", [])
        ]
        found += [
            Listed(m["Key"], m["LastModified"].timestamp(), 0, m["IsLatest"], deleted=True)
            for m in page.get("DeleteMarkers", [])
        ]
    # Last-Modified has whole seconds: a version and its delete marker can share one
    return sorted(found, key=lambda listed: (listed.written_at, listed.deleted))


def versioning_status(client: BaseClient, bucket: str) -> str:
    """The bucket's versioning as the store reports it: Enabled, Suspended or Off (never set)."""
    return client.get_bucket_versioning(Bucket=bucket).get("Status", "Off")


def two_regions(by_region: dict[str, T]) -> tuple[tuple[str, T], tuple[str, T]]:
    """The two (region, value) pairs of a comparison between regions."""
    if len(by_region) != 2:
        raise ValueError(f"a diff compares two regions, not {sorted(by_region)}")
    first, second = by_region.items()
    return first, second


def versions_diff(regions: dict[str, dict[tuple[str, str], str]]) -> dict:
    """Two regions' versions of a bucket (region -> all_versions) compared: how many each
    holds, how many (key, version id) pairs are missing from one or carry different ETags,
    and the first of those with what each region holds."""
    (first, at_first), (second, at_second) = two_regions(regions)
    differing = {
        f"{key} {version}": {
            first: at_first.get((key, version), "missing"),
            second: at_second.get((key, version), "missing"),
        }
        for key, version in sorted(at_first.keys() | at_second.keys())
        if at_first.get((key, version)) != at_second.get((key, version))
    }
    return {
        "versions": {first: len(at_first), second: len(at_second)},
        "differing": len(differing),
        "first": dict(list(differing.items())[:FIRST_SHOWN]),
    }


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


def split_location(location: str) -> tuple[str, str]:
    """A bucket, or a bucket and a key prefix ("glancy-exports/exports/"): (bucket, prefix)."""
    bucket, _, prefix = location.partition("/")
    return bucket, prefix


@dataclass(frozen=True)
class Current:
    """The current version of a key as one region's store serves it."""

    version_id: str | None = None
    sha256: str | None = None
    replication_status: str | None = None
    error: str | None = None

    def matches(self, version_id: str | None, sha256: str | None) -> bool:
        """Whether the store serves that version with that content."""
        return self.error is None and (self.version_id, self.sha256) == (version_id, sha256)

    def __str__(self) -> str:
        if self.error:
            return f"unreadable ({self.error})"
        return f"version {self.version_id}, sha256 {self.sha256}, {self.replication_status}"


def current(client: BaseClient, bucket: str, key: str) -> Current:
    """The key's current version, downloaded and hashed; an unreadable key (deleted, a store
    that does not answer) is a Current naming the error."""
    try:
        answer = client.get_object(Bucket=bucket, Key=key)
        digest = hashlib.sha256(answer["Body"].read()).hexdigest()
    except (BotoCoreError, ClientError) as exc:
        return Current(error=f"{type(exc).__name__}: {exc}")
    return Current(answer.get("VersionId"), digest, answer.get("ReplicationStatus"))


def put(client: BaseClient, bucket: str, key: str, body: bytes) -> Current:
    """Write `body` as a new version of `key`: that version and the SHA-256 of the bytes."""
    answer = client.put_object(Bucket=bucket, Key=key, Body=body)
    return Current(answer.get("VersionId"), hashlib.sha256(body).hexdigest())


def s3_client(
    endpoint_url: str, region: str, access_key: str, secret_key: str, timeout_s: float = 2.0
) -> BaseClient:
    """A boto3 S3 client whose every call is bounded: one attempt, connect and read timeouts."""
    return boto3.client(
        "s3",
        endpoint_url=endpoint_url,
        region_name=region,
        aws_access_key_id=access_key,
        aws_secret_access_key=secret_key,
        config=Config(
            connect_timeout=timeout_s,
            read_timeout=timeout_s,
            retries={"max_attempts": 1, "mode": "standard"},
            s3={"addressing_style": "path"},
        ),
    )


class TraceHeader:
    """Every request `client` sends carries a new W3C trace id in a `traceparent` header, as a
    traced client's would: the store's audit log keeps it, so an alert can name the request.
    `last` is the trace id of the last request sent."""

    def __init__(self, client: BaseClient) -> None:
        self.last: str | None = None
        client.meta.events.register("before-sign.s3", self._add)

    def _add(self, request: AWSRequest, **_: object) -> None:
        self.last = uuid.uuid4().hex
        request.headers["traceparent"] = f"00-{self.last}-{uuid.uuid4().hex[:16]}-01"
