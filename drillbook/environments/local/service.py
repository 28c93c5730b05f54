"""The local service: the reference service's Pods behind nginx, and their admin API."""

from __future__ import annotations

import secrets
import time
from collections.abc import Mapping
from functools import partial
from typing import Any

from drillbook.capabilities.operation import Operation, fault, remediation
from drillbook.capabilities.service import (
    CACHE_TIERS,
    CONFIGURATION,
    FORCE_L2,
    PUBLISH_CONFIG,
    RELEASE,
    ROTATE_KEY,
    TAKE_OVER,
    expiry_changes,
)
from drillbook.environments.common import ServiceAPI, single_version
from drillbook.environments.local.cache import redis_node
from drillbook.environments.local.database import LocalDatabase
from drillbook.environments.local.heal import heal_database, heal_redis, keep_orders
from drillbook.environments.local.regions import (
    fail_back,
    rebuild_home,
    reclaim_home,
    stand_by_again,
    standby_region,
)
from drillbook.glancy import GlancyClient
from drillbook.stack import LocalStack
from drillbook.stack.postgres import PgNode
from drillbook.stack.standby_region import StandbyRegion


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
        """The standby region's playbook, or the primary region's failback once it was
        rebuilt as a warm standby (drillbook.environments.local.regions)."""
        standby = standby_region(self.stack)
        timeout_s = 2 * self.stack.settings.ready_timeout_s
        if region == standby.home_region:
            # back where it belongs: nothing to revert
            return remediation(
                TAKE_OVER, f"region {region}", partial(fail_back, self.stack, timeout_s)
            )
        known_region(standby, region)
        return remediation(
            TAKE_OVER,
            f"region {region}",
            partial(standby.take_over, timeout_s),
            partial(stand_by_again, self.stack, timeout_s),
        )

    def stand_by(self, region: str) -> Operation[dict]:
        standby = standby_region(self.stack)
        if region == standby.home_region:
            return remediation(
                "rebuild as warm standby",
                f"region {region}",
                partial(rebuild_home, self.stack),
                partial(reclaim_home, self.stack),
            )
        known_region(standby, region)
        timeout_s = 2 * self.stack.settings.ready_timeout_s
        return remediation(
            "rebuild as warm standby",
            f"region {region}",
            partial(stand_by_again, self.stack, timeout_s),
        )

    def point_database(self, name: str) -> Operation[dict]:
        instance = self.database.instance(name)
        back = partial(heal_database, self.stack)
        if name not in self.stack.pg.nodes:  # a restored copy, which its revert destroys
            back = partial(self._back_from_copy, instance.node)
        return remediation(
            "switch endpoint",
            f"service database -> {name}",
            partial(self.replicas.switch_database, instance.app_dsn),
            back,
        )

    def _back_from_copy(self, copy: PgNode) -> None:
        heal_database(self.stack)
        kept = keep_orders(copy, self.stack.pg.primary)
        if kept:
            self.stack.progress(f"kept {kept} orders the service recorded only in {copy.name}")

    def point_cache(self, node: str) -> Operation[dict]:
        url = redis_node(self.stack, node).url
        return remediation(
            "switch endpoint",
            f"service redis -> {node}",
            partial(self.replicas.switch_redis, url),
            partial(heal_redis, self.stack),
        )

    def force_l2(self) -> Operation[dict]:
        return remediation(
            FORCE_L2,
            CACHE_TIERS,
            partial(self.replicas.force_l2, True),
            partial(self.replicas.force_l2, False),
        )

    def publish_config(self, changes: Mapping[str, Any], trace_id: str) -> Operation[dict]:
        return fault(
            PUBLISH_CONFIG,
            CONFIGURATION,
            partial(self.replicas.publish, changes, trace_id),
            self.replicas.publish_running,
            keys=sorted(changes),
            trace_id=trace_id,
        )

    def rotate_key(self, key: str, days: float, trace_id: str) -> Operation[dict]:
        # The replicas take a new secret at their next start; the stand-in payment provider
        # keeps the one it started with, so the rotation lasts until its revert.
        changes = {
            key: secrets.token_urlsafe(24),
            **expiry_changes([key], time.time() + days * 86400),
        }
        return remediation(
            ROTATE_KEY,
            CONFIGURATION,
            partial(self.replicas.publish, changes, trace_id),
            self.replicas.publish_running,
            key=key,
            trace_id=trace_id,
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


def known_region(standby: StandbyRegion, region: str) -> None:
    """`region` is the stack's standby region; ValueError naming the stack's regions if not."""
    if region != standby.region:
        known = f"{standby.home_region}, {standby.region}"
        raise ValueError(f"no region {region!r} in the stack; its regions: {known}")
