"""Local object storage: a MinIO server per region, replicated to the DR region through the
link "s3-crr" (and the exports bucket back through "s3-crr-ap-southeast-1")."""

from __future__ import annotations

from botocore.client import BaseClient

from drillbook.environments.common import RegionalStorage
from drillbook.stack.objectstore import REPLICATION_PROXY, ObjectStore, ReplicatedStorage


class LocalStorage(RegionalStorage):
    replicated_through = REPLICATION_PROXY

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

    def _store(self, region: str) -> ObjectStore:
        stores = {store.region: store for store in self.storage.stores}
        if region not in stores:
            raise LookupError(
                f"no object store in region {region!r}; the regions are {list(stores)}"
            )
        return stores[region]
