"""The live environment: capabilities over the endpoints of a system the harness did not start.

Which capabilities it provides follows from the endpoints its profile names (no Redis URL, no
cache), known before anything starts; which faults and remediations it can carry out follows
from the bindings. It starts and stops nothing: `start` only checks that the service answers.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

from drillbook.capabilities.monitoring import FRONT_DOOR_REQUESTS, RequestCounter
from drillbook.commands import CommandLog
from drillbook.environments import Finding, MissingCapability
from drillbook.environments.aws_cloud import AwsCloud
from drillbook.environments.cluster_platform import ClusterPlatform
from drillbook.environments.live.bindings import Bindings
from drillbook.environments.live.cache import LiveCache
from drillbook.environments.live.context import LiveContext
from drillbook.environments.live.database import LiveDatabase
from drillbook.environments.live.exports import LiveExportQueue
from drillbook.environments.live.operations import BUILT_IN, OPERATIONS, REGION_FAILOVER
from drillbook.environments.live.preflight import endpoint_findings
from drillbook.environments.live.service import LiveService
from drillbook.environments.live.storage import LiveStorage
from drillbook.environments.prometheus_monitoring import PrometheusMonitoring
from drillbook.environments.proxied_network import ProxiedNetwork
from drillbook.glancy import GlancyClient
from drillbook.platform.cloud import CloudControlPlane
from drillbook.platform.kubernetes import Cluster, cluster_from_kubeconfig
from drillbook.profile import Profile
from drillbook.toxiproxy import ToxiproxyClient
from drillbook.waits import wait_until

# capability -> the keys of live.endpoints it needs
NEEDS: dict[str, tuple[str, ...]] = {
    "service": ("service",),
    "database": ("postgres",),
    "cache": ("redis",),
    "storage": ("s3", "storage"),
    "network": ("toxiproxy",),
    "exports": ("service", "postgres", "s3", "storage"),
    "platform": ("kubernetes",),
    "cloud": ("aws",),
    "monitoring": ("monitoring",),
}
# A staging cluster's rollout may take minutes: its own probes and pulls, not ours.
ROLLOUT_TIMEOUT_S = 600.0


class Unprovided:
    """Stands for a capability the profile gives no endpoint for, inside one that can do
    without it (the service without a database): using it says what the profile lacks."""

    def __init__(self, name: str, profile: Profile) -> None:
        self._why = (
            f"{profile.path}: the {name} is not reachable: live.endpoints needs "
            f"{', '.join(NEEDS[name])}"
        )

    def __getattr__(self, attribute: str) -> Any:
        raise MissingCapability(self._why)


class LiveEnvironment:
    kind: ClassVar[str] = "live"
    held_as: ClassVar[str] = "live environment"

    @classmethod
    def provides_for(cls, profile: Profile) -> frozenset[str]:
        endpoints = profile.live["endpoints"]
        return frozenset(name for name, keys in NEEDS.items() if all(k in endpoints for k in keys))

    @classmethod
    def operation_refusal(cls, profile: Profile, operation: str) -> str | None:
        """An operation of the bindings' table the profile does not bind; built-in operations
        need only their capability's endpoints, which capability_refusal checks."""
        if operation == REGION_FAILOVER and not profile.live["endpoints"].get("aws", {}).get(
            "endpoint_url"
        ):
            return (
                f"{profile.path}: {REGION_FAILOVER} promotes a cross-Region read replica "
                "cluster, which Aurora PostgreSQL does not have on AWS (its cross-Region form is "
                "a Global Database, whose failover is not implemented here); it runs only "
                "against an emulated control plane (live.endpoints.aws.endpoint_url)"
            )
        bound = profile.live["bindings"]
        if operation not in OPERATIONS or operation in bound:
            return None
        return (
            f"{profile.path} binds no {operation!r} (live.bindings), so the live environment "
            f"cannot carry it out (bound: {', '.join(sorted(bound)) or 'none'})"
        )

    @classmethod
    def preflight(cls, profile: Profile, capabilities: list[str]) -> list[Finding]:
        return endpoint_findings(profile, capabilities)

    @classmethod
    def preflight_operation(cls, profile: Profile, operation: str) -> list[Finding]:
        """A bound operation's actions checked (command executable, permission granted...);
        a built-in one needs only its capability's endpoints."""
        if operation in OPERATIONS:
            return Bindings.of(profile).preflight([operation])
        return [Finding(f"operation {operation}", True, f"built in: {BUILT_IN[operation]}")]

    @classmethod
    def describe_operation(cls, profile: Profile, operation: str, params: dict[str, str]) -> str:
        if operation in OPERATIONS:
            return Bindings.of(profile).describe(operation, params)
        shown = ", ".join(f"{key}={value}" for key, value in params.items())
        return f"{operation}({shown}): built in, {BUILT_IN[operation]}"

    def __init__(self, profile: Profile, run_dir: Path, progress: Callable[[str], None]) -> None:
        self.profile = profile
        self.progress = progress
        self.commands = CommandLog()
        endpoints = profile.live["endpoints"]
        self.context = LiveContext.of(profile, self.commands)
        self.bindings = Bindings(profile.path, profile.live["bindings"], self.context)
        provided = self.provides_for(profile)
        self._capabilities = self._build(endpoints, provided)

    def _build(self, endpoints: dict[str, Any], provided: frozenset[str]) -> dict[str, Any]:
        """The capabilities the endpoints allow; each only holds clients, connecting when
        used."""
        ready_s = self.profile.timeouts["ready_s"]
        built: dict[str, Any] = {}
        if "database" in provided:
            built["database"] = LiveDatabase(
                endpoints["postgres"],
                endpoints["postgres_app"],
                endpoints["primary_zone"],
                self.bindings,
                ready_s,
            )
        database = built.get("database") or Unprovided("database", self.profile)
        regions = endpoints.get("regions", {})
        if "platform" in provided:
            built["platform"] = live_platform(endpoints["kubernetes"], regions)
        if "monitoring" in provided:
            watch = endpoints["monitoring"]
            front_door = watch.get("front_door")
            built["monitoring"] = PrometheusMonitoring(
                watch["prometheus"],
                watch["alert_receiver"],
                watch["scrape_interval_s"],
                RequestCounter(**front_door) if front_door else FRONT_DOOR_REQUESTS,
            )
        if "cloud" in provided:
            aws = endpoints["aws"]
            plane = CloudControlPlane(aws["region"], aws.get("endpoint_url"))
            built["cloud"] = AwsCloud(lambda: plane, metrics_namespace=aws.get("metrics_namespace"))
        built["service"] = LiveService(
            endpoints["service"],
            admin_urls(endpoints, built.get("platform")),
            database,
            self.bindings,
        )
        if "cache" in provided:
            built["cache"] = LiveCache(endpoints["redis"], self.bindings, ready_s)
        if "storage" in provided:
            built["storage"] = LiveStorage(endpoints["s3"], endpoints["storage"], self.profile.path)
        if "network" in provided:
            toxiproxy = ToxiproxyClient(endpoints["toxiproxy"])
            region_links = {region: spec["links"] for region, spec in regions.items()}
            built["network"] = ProxiedNetwork(toxiproxy, endpoints.get("links"), region_links)
        if "exports" in provided:
            built["exports"] = LiveExportQueue(
                built["service"].api,
                built["database"],
                built["storage"],
                endpoints["storage"]["exports_bucket"],
                self.bindings,
            )
        return built

    def start(self) -> None:
        """Nothing to start: the service must already answer GET /healthz."""
        api = GlancyClient(self.profile.live["endpoints"]["service"])
        wait_until(
            f"the service of {self.profile.path} to answer GET {api.url}/healthz",
            lambda: (True, api.health()),
            self.profile.timeouts["ready_s"],
            interval_s=1.0,
            progress=self.progress,
        )

    def stop(self) -> None:
        """Nothing to stop: the harness owns no process of a live environment."""

    def capability(self, name: str) -> Any:
        if name not in self._capabilities:
            offered = ", ".join(sorted(self._capabilities))
            raise MissingCapability(
                f"{self.profile.path}: the live environment has no capability {name!r} "
                f"(its endpoints give: {offered})"
            )
        return self._capabilities[name]

    def commands_since(self, since: float) -> list[Any]:
        return self.commands.since(since)

    def recover_op(self) -> dict[str, Any] | None:
        """Nothing of it outlives the harness but its faults, which are journaled each."""
        return None


def live_platform(kubernetes: dict[str, Any], regions: dict[str, Any]) -> ClusterPlatform:
    """The cluster of the profile's kubeconfig and context, and each region's that names
    one, connected when first used."""
    return ClusterPlatform(
        connected(kubernetes),
        ROLLOUT_TIMEOUT_S,
        kubeconfig_of(kubernetes),
        regions={
            region: connected(spec["kubernetes"])
            for region, spec in regions.items()
            if "kubernetes" in spec
        },
    )


def kubeconfig_of(kubernetes: dict[str, Any]) -> dict[str, Any]:
    return {"kubeconfig": kubernetes["kubeconfig"], "context": kubernetes.get("context")}


def connected(kubernetes: dict[str, Any]) -> Callable[[], Cluster]:
    return functools.cache(lambda: cluster_from_kubeconfig(**kubeconfig_of(kubernetes)))


def admin_urls(
    endpoints: dict[str, Any], platform: ClusterPlatform | None
) -> Callable[[], list[str]]:
    """The replicas' admin URLs: as the profile lists them, or the Ready endpoints of the
    Service `kubernetes.service` names, read anew each time (a rollout replaces them)."""
    if "service_admin" in endpoints:
        return lambda: list(endpoints["service_admin"])
    service = endpoints["kubernetes"]["service"]
    if platform is None:  # NEEDS gives the platform to every profile with a kubernetes endpoint
        raise MissingCapability("live.endpoints.kubernetes.service needs the platform")

    def ready() -> list[str]:
        backends = platform.cluster.ready_endpoints(service["namespace"], service["name"])
        return [f"http://{backend}" for backend in backends]

    return ready
