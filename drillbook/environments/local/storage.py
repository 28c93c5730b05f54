"""Local object storage: a MinIO server per region, replicated through the link "s3-crr"."""

from __future__ import annotations

from functools import partial

from botocore.client import BaseClient

from drillbook.capabilities.operation import Operation, fault
from drillbook.objects import (
    Current,
    ObjectState,
    all_versions,
    current,
    latest_objects,
    put,
    restore_previous_version,
    versions_of,
)
from drillbook.stack.objectstore import REPLICATION_PROXY, ObjectStore, ReplicatedStorage


class LocalStorage:
    def __init__(self, storage: ReplicatedStorage) -> None:
        self.storage = storage

    @property
    def regions(self) -> list[str]:
        return [store.region for store in self.storage.stores]

    @property
    def primary_region(self) -> str:
        return self.storage.primary.region

    @property
    def dr_region(self) -> str:
        return self.storage.dr.region

    def client(self, region: str) -> BaseClient:
        return self._store(region).client()

    def new_client(self, region: str) -> BaseClient:
        return self._store(region).new_client()

    def replication_link(self, region: str) -> str:
        """Only the DR region is replicated to."""
        if region != self.dr_region:
            raise LookupError(
                f"no replication to region {region!r}: the primary region "
                f"{self.primary_region} replicates to {self.dr_region}"
            )
        return REPLICATION_PROXY

    def delete_by_mistake(self, bucket: str, key: str) -> Operation[None]:
        client = self.client(self.primary_region)
        return fault(
            "deleted by mistake",
            f"object {bucket}/{key}",
            partial(client.delete_object, Bucket=bucket, Key=key),
            partial(restore_previous_version, client, bucket, key),
        )

    def put(self, region: str, bucket: str, key: str, body: bytes) -> Current:
        return put(self.client(region), bucket, key, body)

    def current(self, region: str, bucket: str, key: str) -> Current:
        return current(self.client(region), bucket, key)

    def versions_of(self, region: str, bucket: str, key: str) -> list[dict]:
        return versions_of(self.client(region), bucket, key)

    def latest_objects(self, region: str, bucket: str, prefix: str = "") -> dict[str, ObjectState]:
        return latest_objects(self.client(region), bucket, prefix)

    def all_versions(
        self, region: str, bucket: str, prefix: str = ""
    ) -> dict[tuple[str, str], str]:
        return all_versions(self.client(region), bucket, prefix)

    def _store(self, region: str) -> ObjectStore:
        stores = {store.region: store for store in self.storage.stores}
        if region not in stores:
            raise LookupError(
                f"no object store in region {region!r}; the regions are {list(stores)}"
            )
        return stores[region]
