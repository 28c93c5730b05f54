"""What every environment's capabilities do the same way, whoever runs the system.

The service's HTTP API, the SQL on the service's database, the S3 API of the stores and the
export queue's records are the same on a laptop and in staging: only how the environment
reaches them differs (the local stack's processes, a live profile's endpoints). These pieces
take what differs as an argument, so the local and live capabilities do not drift apart.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import replace
from functools import partial
from typing import Any, Protocol, TypeVar

import redis
from botocore.client import BaseClient

from drillbook.capabilities.cache import MEMORY_TARGET
from drillbook.capabilities.database import DatabaseInstance
from drillbook.capabilities.exports import REPLAY
from drillbook.capabilities.operation import Operation, fault, remediation
from drillbook.capabilities.service import LLM_BUDGET
from drillbook.checks.exports import ExportRecord
from drillbook.glancy import GlancyClient
from drillbook.glancy_sql import ADD_USER, COLUMNS, RECORDS, USAGE_OF_DAY, inserts
from drillbook.objects import (
    Current,
    Listed,
    ObjectState,
    all_versions,
    current,
    latest_objects,
    listing,
    put,
    restore_previous_version,
    version_counts,
    versioning_status,
    versions_of,
)

T = TypeVar("T")
# Where the service writes export artifacts in the exports bucket.
ARTIFACTS = "exports/"


def converted(operation: Operation[Any], convert: Callable[[Any], T]) -> Operation[T]:
    """The same operation, its result passed through `convert` (e.g. a command's JSON answer
    turned into what the capability promises)."""
    run = operation.run
    return replace(operation, run=lambda: convert(run()))


class HasPrimary(Protocol):
    def primary(self) -> DatabaseInstance:
        """The instance that accepts writes now."""
        ...


class ServiceAPI:
    """The service capability's calls that go through the service's HTTP API or SQL on the
    current primary; a subclass sets `api` (the clients' URL) and `database`."""

    api: GlancyClient
    database: HasPrimary

    def health(self) -> dict[str, Any]:
        return self.api.health()

    def lookup(self, word: str, user: str) -> tuple[int, dict[str, str], dict]:
        return self.api.lookup(word, user)

    def regenerate(self, word: str, user: str) -> tuple[int, dict]:
        return self.api.regenerate(word, user)

    def history(self, user: str) -> list[dict]:
        return self.api.history(user)

    def delete_history(self, user: str) -> dict:
        return self.api.delete_history(user)

    def replay_deletions(self, since: float) -> Operation[dict]:
        return remediation(
            "replay deletions", "deletion queue", partial(self.api.replay_deletions, since)
        )

    def reconcile_orders(self) -> Operation[dict]:
        return remediation("order reconciliation", "orders", self.api.reconcile_orders)

    def check_orders(self) -> dict:
        return self.api.check_orders()

    def recompute_quota(self) -> Operation[dict]:
        return remediation("quota compensation", "quota counters", self.api.recompute_quota)

    def quota(self, user: str) -> dict:
        return self.api.quota(user)

    def budget(self) -> dict:
        return self.api.budget()

    def spend_tokens(self, tokens: int) -> Operation[dict]:
        return fault(
            f"spend {tokens} tokens",
            LLM_BUDGET,
            partial(self.api.spend, tokens),
            self.api.refund_spend,
        )

    def add_users(self, users: list[str], daily_limit: int) -> None:
        primary = self.database.primary()
        for user in users:
            primary.query(ADD_USER, (user, daily_limit))

    def lookups_today(self, user: str, day: str) -> int:
        [(count,)] = self.database.primary().query(USAGE_OF_DAY, (user, day))
        return count


def single_version(versions: list[str]) -> str:
    """The version every replica runs; a release cannot start from mixed versions."""
    if len(set(versions)) != 1:
        raise RuntimeError(f"replicas run mixed versions {versions}: no clean release")
    return versions[0]


def replay_exports(api: GlancyClient) -> Operation[dict[str, Any]]:
    """POST /admin/exports/replay as the operator's remediation."""
    return remediation(REPLAY, "export queue", api.replay_exports)


def delete_rows(table: str, primary: Callable[[], DatabaseInstance]) -> Operation[int]:
    """A bad DELETE of every row of `table` on the primary of now; reverted by putting the rows
    back on the primary of the revert's time (a failover may have happened in between)."""
    instance = primary()
    rows = instance.query(f"SELECT * FROM {table}")  # noqa: S608 - a known table
    columns = [c for (c,) in instance.query(COLUMNS, (table,))]

    def delete() -> int:
        instance.query(f"DELETE FROM {table}")  # noqa: S608
        return len(rows)

    def put_back() -> None:
        target = primary()
        for statement, params in inserts(table, columns, rows):
            target.query(statement, params)

    return fault("bad DELETE", f"table {table} on {instance.name}", delete, put_back)


def export_records(
    primary: DatabaseInstance, client: BaseClient, bucket: str
) -> dict[str, ExportRecord]:
    """Every export task as the service's database and the primary region's versioned bucket
    hold it: its completion, the deliveries that reached completion, the writes of its
    artifact."""
    rows = primary.query(RECORDS)
    versions = version_counts(client, bucket, ARTIFACTS)
    return {
        task: ExportRecord(task, completed_at, completing, versions[key] if key else 0, key, sha)
        for task, completed_at, key, sha, completing in rows
    }


class RegionalStorage(ABC):
    """Object storage through the S3 API of each region's store; a subclass gives `client`,
    the regions and the link replication goes through (`replicated_through`)."""

    replicated_through: str

    @property
    @abstractmethod
    def primary_region(self) -> str: ...

    @property
    @abstractmethod
    def dr_region(self) -> str: ...

    @abstractmethod
    def client(self, region: str) -> BaseClient: ...

    def replication_link(self, region: str) -> str:
        """Only the DR region is replicated to."""
        if region != self.dr_region:
            raise LookupError(
                f"no replication to region {region!r}: the primary region "
                f"{self.primary_region} replicates to {self.dr_region}"
            )
        return self.replicated_through

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

    def copy(
        self, source: str, bucket: str, key: str, target: str, target_bucket: str
    ) -> Operation[dict]:
        def run() -> dict:
            read = self.client(source).get_object(Bucket=bucket, Key=key)
            body = read["Body"].read()
            written = put(self.client(target), target_bucket, key, body)
            return {
                "from": f"s3://{bucket}/{key} ({source}, version {read.get('VersionId')})",
                "to": f"s3://{target_bucket}/{key} ({target}, version {written.version_id})",
                "sha256": written.sha256,
                "content": body.decode("utf-8", errors="replace")[:200],
            }

        return remediation("copy", f"object {target_bucket}/{key}", run)

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

    def listing(self, region: str, bucket: str, prefix: str = "") -> list[Listed]:
        return listing(self.client(region), bucket, prefix)

    def versioning(self, region: str, bucket: str) -> str:
        return versioning_status(self.client(region), bucket)


# What the primary's memory is cut to, and how it evicts then (Cache.exhaust_memory).
EXHAUSTED = {"maxmemory-policy": "volatile-lru", "maxmemory": "1"}


def configure_redis(node: Callable[[], redis.Redis], settings: Mapping[str, str]) -> None:
    """CONFIG SET of each of `settings`, in order, on a client of the node."""
    with node() as client:
        for name, value in settings.items():
            client.config_set(name, value)


def exhaust_memory(primary: Callable[[], redis.Redis]) -> Operation[dict]:
    """Cache.exhaust_memory through the Redis protocol (CONFIG SET) of a client of the
    primary: the policy first, so that the cut evicts by it."""
    with primary() as client:
        before = {name: client.config_get(name)[name] for name in EXHAUSTED}

    def configure(settings: dict[str, str]) -> dict:
        configure_redis(primary, settings)
        return {"settings": settings, "before": before}

    return fault(
        "out of memory",
        MEMORY_TARGET,
        partial(configure, EXHAUSTED),
        partial(configure, before),
        before=before,
    )
