"""Object storage by region, replicated from the primary region to the DR region."""

from __future__ import annotations

from typing import Protocol

from botocore.client import BaseClient

from drillbook.capabilities.operation import Operation
from drillbook.objects import Current, Listed, ObjectState


class ObjectStorage(Protocol):
    @property
    def regions(self) -> list[str]: ...

    @property
    def primary_region(self) -> str: ...

    @property
    def dr_region(self) -> str: ...

    def client(self, region: str) -> BaseClient:
        """An S3 client of the region's store, with timeouts and one attempt per call."""
        ...

    def new_client(self, region: str) -> BaseClient:
        """A client of its own, for a workload thread."""
        ...

    def replication_link(self, region: str) -> str:
        """The network link replication to `region` goes through."""
        ...

    def delete_by_mistake(self, bucket: str, key: str) -> Operation[None]:
        """A delete in the versioned bucket (a delete marker); reverted by copying the
        newest real version back over it."""
        ...

    def put(self, region: str, bucket: str, key: str, body: bytes) -> Current:
        """A new version of `key` written in the region: its version id and SHA-256."""
        ...

    def copy(
        self, source: str, bucket: str, key: str, target: str, target_bucket: str
    ) -> Operation[dict]:
        """`aws s3 cp` across regions: the key's current bytes read in `source`, written as
        the same key in `target_bucket` of `target`. A remediation that stays: the copy is
        the runbook's record, not a fault."""
        ...

    def current(self, region: str, bucket: str, key: str) -> Current:
        """The key's current version as the region serves it, its bytes hashed; an unreadable
        key is a Current naming the error."""
        ...

    def versions_of(self, region: str, bucket: str, key: str) -> list[dict]:
        """Every version and delete marker of `key` in the region, newest first."""
        ...

    def latest_objects(self, region: str, bucket: str, prefix: str = "") -> dict[str, ObjectState]:
        """Key -> its latest version in the region, downloaded and hashed."""
        ...

    def all_versions(
        self, region: str, bucket: str, prefix: str = ""
    ) -> dict[tuple[str, str], str]:
        """(key, version id) -> the version's ETag in the region, or "delete marker"."""
        ...

    def listing(self, region: str, bucket: str, prefix: str = "") -> list[Listed]:
        """Every version and delete marker under `prefix` in the region, oldest first, read
        from the version listing alone (an archive of base backups is not downloaded)."""
        ...

    def versioning(self, region: str, bucket: str) -> str:
        """The bucket's versioning status in the region: Enabled, Suspended or Off."""
        ...
