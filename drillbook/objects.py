"""What a bucket holds, read from the store itself: each object's latest version with the
SHA-256 of its bytes and the replication status the store reports, how many versions
(writes) each key has, and every version with its ETag. Works against any S3 API (MinIO
locally, AWS S3 live)."""

from __future__ import annotations

import hashlib
from collections import Counter

from botocore.client import BaseClient

from drillbook.checks.crr import DELETE_MARKER, ObjectState


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
