"""Live object storage: each region's S3 endpoint, with the credentials the profile names."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from botocore.client import BaseClient

from drillbook.capabilities.operation import Operation
from drillbook.environments.common import RegionalStorage
from drillbook.environments.live.recovery import recoverable
from drillbook.objects import s3_client

# Each S3 call of the harness: one attempt, to connect and to read.
S3_TIMEOUT_S = 5.0


class LiveStorage(RegionalStorage):
    """`s3`: region -> {endpoint, access_key_id, secret_access_key}; `storage`: the regions'
    roles and the link replication goes through ({primary_region, dr_region,
    replication_link})."""

    def __init__(
        self,
        s3: dict[str, dict[str, Any]],
        storage: dict[str, Any],
        profile_path: Path | None = None,
    ) -> None:
        self.profile_path = profile_path  # the profile a killed run's delete is undone from
        self.stores = s3
        self._primary_region = storage["primary_region"]
        self._dr_region = storage["dr_region"]
        # the link name the features use for replication, as the local stack names it
        self.replicated_through = storage["replication_link"]
        self._clients: dict[str, BaseClient] = {}
        self._lock = threading.Lock()

    def delete_by_mistake(self, bucket: str, key: str) -> Operation[None]:
        delete = super().delete_by_mistake(bucket, key)
        if self.profile_path is None:
            return delete
        name = "storage.delete_by_mistake"
        return recoverable(delete, self.profile_path, name, bucket=bucket, key=key)

    @property
    def regions(self) -> list[str]:
        return list(self.stores)

    @property
    def primary_region(self) -> str:
        return self._primary_region

    @property
    def dr_region(self) -> str:
        return self._dr_region

    def client(self, region: str) -> BaseClient:
        """One client per region, shared (boto3 clients are thread-safe)."""
        with self._lock:
            if region not in self._clients:
                self._clients[region] = self.new_client(region)
            return self._clients[region]

    def new_client(self, region: str) -> BaseClient:
        if region not in self.stores:
            raise LookupError(
                f"no object store in region {region!r}; the regions are {list(self.stores)}"
            )
        store = self.stores[region]
        return s3_client(
            store["endpoint"],
            region,
            store["access_key_id"],
            store["secret_access_key"],
            S3_TIMEOUT_S,
        )
