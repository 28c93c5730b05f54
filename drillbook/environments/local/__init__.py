"""The embedded environment: the local stack of real processes, offered as capabilities."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

from drillbook.capabilities import CAPABILITIES
from drillbook.environments import Finding, MissingCapability
from drillbook.environments.cluster_platform import ClusterPlatform
from drillbook.environments.local.cache import LocalCache
from drillbook.environments.local.cloud import LocalCloud
from drillbook.environments.local.database import LocalDatabase
from drillbook.environments.local.exports import LocalExportQueue
from drillbook.environments.local.service import LocalService
from drillbook.environments.local.storage import LocalStorage
from drillbook.environments.prometheus_monitoring import PrometheusMonitoring
from drillbook.environments.proxied_network import ProxiedNetwork
from drillbook.faults.recover import local_stack_recover
from drillbook.glancy import GlancyClient
from drillbook.platform.kubernetes import Cluster
from drillbook.profile import Profile
from drillbook.stack import LocalSettings, LocalStack
from drillbook.stack.monitoring import SCRAPE_INTERVAL_S


class LocalEnvironment:
    """Every capability, each backed by processes the harness starts in `run_dir`."""

    kind: ClassVar[str] = "local"
    held_as: ClassVar[str] = "local stack"

    @classmethod
    def provides_for(cls, profile: Profile) -> frozenset[str]:
        return frozenset(CAPABILITIES)

    @classmethod
    def operation_refusal(cls, profile: Profile, operation: str) -> str | None:
        """The embedded stack carries out every operation itself."""
        return None

    @classmethod
    def preflight(cls, profile: Profile, capabilities: list[str]) -> list[Finding]:
        """Its programs were found when the profile loaded; the rest starts with the run."""
        where = f"the embedded stack, started by the harness from {profile.path}"
        return [Finding(f"capability {name}", True, where) for name in capabilities]

    @classmethod
    def preflight_operation(cls, profile: Profile, operation: str) -> list[Finding]:
        return [Finding(f"operation {operation}", True, "carried out by the embedded stack")]

    @classmethod
    def describe_operation(cls, profile: Profile, operation: str, params: dict[str, str]) -> str:
        shown = ", ".join(f"{key}={value}" for key, value in params.items())
        return f"{operation}({shown}) by the embedded stack"

    def __init__(self, profile: Profile, run_dir: Path, progress: Callable[[str], None]) -> None:
        self.stack = LocalStack(local_settings(profile), run_dir, progress)
        stack = self.stack
        # One of each, shared by the capabilities that use them.
        api = GlancyClient(stack.url)
        database = LocalDatabase(stack)
        storage = LocalStorage(stack.storage)
        self._capabilities: dict[str, Any] = {
            "service": LocalService(stack, database, api),
            "database": database,
            "cache": LocalCache(stack),
            "storage": storage,
            "network": ProxiedNetwork(stack.toxiproxy, regions=stack.region_links()),
            "exports": LocalExportQueue(stack, api, storage),
            "platform": ClusterPlatform(
                lambda: stack.kube.cluster,
                2 * profile.timeouts["ready_s"],
                regions=stack_regions(stack),
            ),
            "cloud": LocalCloud(stack),
            "monitoring": PrometheusMonitoring(
                stack.monitoring.prometheus.url,
                stack.monitoring.receiver.url,
                SCRAPE_INTERVAL_S,
            ),
        }

    def start(self) -> None:
        self.stack.start()

    def stop(self) -> None:
        self.stack.stop()

    def capability(self, name: str) -> Any:
        if name not in self._capabilities:
            raise MissingCapability(f"the local environment has no capability {name!r}")
        return self._capabilities[name]

    def commands_since(self, since: float) -> list[Any]:
        return self.stack.commands.since(since)

    def recover_op(self) -> dict[str, Any] | None:
        """The stack's processes stopped and its run folder removed."""
        return local_stack_recover(self.stack.run_dir)


def stack_regions(stack: LocalStack) -> dict[str, Callable[[], Cluster]]:
    """Each region's cluster: the primary's, and the standby region's if the stack has one."""
    regions = {stack.storage.primary.region: lambda: stack.kube.cluster}
    if stack.standby is not None:
        regions[stack.standby.region] = lambda: stack.standby.kube.cluster
    return regions


def local_settings(profile: Profile) -> LocalSettings:
    local = profile.local
    optional = (
        "redis_server",
        "toxiproxy_server",
        "minio",
        "mc",
        "llm_timeout_s",
        "llm_breaker",
        "standby_region",
        "dns_ttl_s",
    )
    extra = {k: local[k] for k in optional if k in local}
    return LocalSettings(
        pg_bin_dir=Path(local["pg_bin_dir"]),
        archive_timeout_s=local["archive_timeout_s"],
        ready_timeout_s=profile.timeouts["ready_s"],
        **extra,
    )
