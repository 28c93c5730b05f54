"""The live service: Glancy at the clients' URL, each replica's admin API at its own URL.

What clients and operators do through the service's HTTP API is the same as locally
(drillbook.environments.common.ServiceAPI). Switching its endpoints and rolling a release are
the profile's bindings: how staging changes a connection string or deploys is its own.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from drillbook.capabilities.operation import Operation
from drillbook.capabilities.service import (
    CACHE_TIERS,
    CONFIGURATION,
    FORCE_L2,
    PUBLISH_CONFIG,
    RELEASE,
    ROTATE_KEY,
    TAKE_OVER,
)
from drillbook.environments.common import ServiceAPI, single_version
from drillbook.environments.live.cache import check_node
from drillbook.environments.live.database import LiveDatabase
from drillbook.environments.live.recovery import recoverable
from drillbook.glancy import GlancyClient, replicas_breaker, replicas_cache_stats

if TYPE_CHECKING:  # the capabilities only call what a Bindings offers
    from drillbook.environments.live.bindings import Bindings


class LiveService(ServiceAPI):
    """`url`: the clients' (router, load balancer); `admin_urls`: each replica's own, which
    admin reads go to, since each replica has its own breaker, cache counters and version.
    They are asked for at each read: on Kubernetes the replicas are the Service's Ready
    endpoints of the moment, which a rollout replaces."""

    def __init__(
        self,
        url: str,
        admin_urls: Callable[[], list[str]],
        database: LiveDatabase,
        bindings: Bindings,
    ) -> None:
        self.api = GlancyClient(url)
        self.admin_urls = admin_urls
        self.database = database
        self.bindings = bindings

    @property
    def replicas(self) -> list[GlancyClient]:
        return [GlancyClient(admin) for admin in self.admin_urls()]

    @property
    def url(self) -> str:
        return self.api.url

    def spend_tokens(self, tokens: int) -> Operation[dict]:
        """Taken back by a later run if this one is killed: staging keeps its budget."""
        spend = super().spend_tokens(tokens)
        return recoverable(spend, self.bindings.profile_path, "service.spend_tokens")

    def point_database(self, name: str) -> Operation[dict]:
        self.database.instance(name)  # an unknown name lists the known ones
        return self.bindings.operation(
            "service.point_database",
            "switch endpoint",
            f"service database -> {name}",
            {"name": name},
        )

    def take_over(self, region: str) -> Operation[dict]:
        return self.bindings.operation(
            "service.take_over", TAKE_OVER, f"region {region}", {"region": region}
        )

    def stand_by(self, region: str) -> Operation[dict]:
        return self.bindings.operation(
            "service.stand_by", "rebuild as warm standby", f"region {region}", {"region": region}
        )

    def point_cache(self, node: str) -> Operation[dict]:
        return self.bindings.operation(
            "service.point_cache",
            "switch endpoint",
            f"service redis -> {node}",
            {"node": check_node(node)},
        )

    def force_l2(self) -> Operation[dict]:
        return self.bindings.operation("service.force_l2", FORCE_L2, CACHE_TIERS, {})

    def publish_config(self, changes: Mapping[str, Any], trace_id: str) -> Operation[dict]:
        return self.bindings.operation(
            "service.publish_config",
            PUBLISH_CONFIG,
            CONFIGURATION,
            {"changes": json.dumps(dict(changes)), "trace_id": trace_id},
            keys=sorted(changes),
            trace_id=trace_id,
        )

    def rotate_key(self, key: str, days: float, trace_id: str) -> Operation[dict]:
        return self.bindings.operation(
            "service.rotate_key",
            ROTATE_KEY,
            CONFIGURATION,
            {"key": key, "days": days, "trace_id": trace_id},
            key=key,
            trace_id=trace_id,
        )

    def versions(self) -> list[str]:
        return [replica.version() for replica in self.replicas]

    def roll_out(self, version: str) -> Operation[list[dict]]:
        """The binding rolls `version` out and back; the replicas must agree on the version
        they run before it starts, which is the one it rolls back to."""
        previous = single_version(self.versions())
        return self.bindings.operation(
            "service.roll_out",
            f"release {version}",
            RELEASE,
            {"version": version, "previous": previous},
            version=version,
            previous=previous,
        )

    def llm_breaker(self) -> dict[str, Any]:
        return replicas_breaker([replica.llm_breaker() for replica in self.replicas])

    def cache_stats(self) -> dict[str, Any]:
        return replicas_cache_stats([replica.cache_stats() for replica in self.replicas])
