"""The local service: the reference service's Pods behind nginx, and their admin API."""

from __future__ import annotations

from functools import partial
from typing import Any

from drillbook.capabilities.operation import Operation, fault, remediation
from drillbook.capabilities.service import RELEASE
from drillbook.environments.common import ServiceAPI, single_version
from drillbook.environments.local.cache import redis_node
from drillbook.environments.local.database import LocalDatabase
from drillbook.environments.local.heal import heal_database, heal_redis
from drillbook.glancy import GlancyClient
from drillbook.stack import LocalStack


class LocalService(ServiceAPI):
    def __init__(self, stack: LocalStack, database: LocalDatabase, api: GlancyClient) -> None:
        self.stack = stack
        self.replicas = stack.service
        self.database = database
        self.api = api

    @property
    def url(self) -> str:
        return self.stack.url

    def take_over(self, region: str) -> Operation[dict]:
        standby = self.stack.standby
        if standby is None or standby.region != region:
            known = standby.region if standby is not None else "none (local.standby_region)"
            raise ValueError(f"no warm standby in region {region!r}; the stack's: {known}")
        timeout_s = 2 * self.stack.settings.ready_timeout_s
        return remediation(
            "warm-standby cutover",
            f"region {region}",
            partial(standby.take_over, timeout_s),
            partial(standby.stand_by, timeout_s),
        )

    def point_database(self, name: str) -> Operation[dict]:
        dsn = self.database.instance(name).app_dsn
        return remediation(
            "switch endpoint",
            f"service database -> {name}",
            partial(self.replicas.switch_database, dsn),
            partial(heal_database, self.stack),
        )

    def point_cache(self, node: str) -> Operation[dict]:
        url = redis_node(self.stack, node).url
        return remediation(
            "switch endpoint",
            f"service redis -> {node}",
            partial(self.replicas.switch_redis, url),
            partial(heal_redis, self.stack),
        )

    def versions(self) -> list[str]:
        return self.replicas.versions()

    def roll_out(self, version: str) -> Operation[list[dict]]:
        previous = single_version(self.versions())
        return fault(
            f"release {version}",
            RELEASE,
            partial(self.roll_to, version),
            partial(self.roll_to, previous),
            version=version,
            previous=previous,
        )

    def roll_to(self, version: str) -> list[dict]:
        """Each zone's Deployment not yet on `version` rolled to it, one at a time."""
        return self.replicas.roll_to(version)

    def llm_breaker(self) -> dict[str, Any]:
        return self.replicas.llm_breaker()

    def cache_stats(self) -> dict[str, Any]:
        return self.replicas.cache_stats()
