"""The reference service (`python -m reference`) as Kubernetes Deployments of the local stack.

Runbook 5.1 acts on `lookup-bff` in namespace `prod`: one Deployment per zone (so scaling a
zone's Deployments to 0 takes its replicas away), each Pod pinned to its zone's node, and a
Service selecting them all. The router sends clients to the Service's Ready endpoints
(drillbook.stack.endpoints), so a cordon, a scale-down or a rollout changes the traffic path
the way kube-proxy would. All replicas share one configuration file; each listens on its
Pod's address, and a release is the Deployment's rolling update.
"""

from __future__ import annotations

import copy
import json
import os
import sys
import time
from collections.abc import Mapping
from http import HTTPStatus
from pathlib import Path
from typing import Any

from kubernetes import client

from drillbook.capabilities.service import expiry_changes
from drillbook.glancy import GlancyClient, replicas_breaker, replicas_cache_stats, same_answer
from drillbook.private_files import write_private
from drillbook.stack.endpoints import EndpointFollower
from drillbook.stack.kubernetes import KubeControlPlane
from drillbook.stack.router import Router
from drillbook.stack.tools import REPO_ROOT
from drillbook.waits import WaitTimeout, wait_until

HTTP_TIMEOUT_S = 5.0
API_TIMEOUT_S = 5.0
NAMESPACE = "prod"
NAME = "lookup-bff"
PORT = 8080
ZONE_LABEL = "topology.kubernetes.io/zone"
# The replicas check the configuration published to them this often (reference.config_check).
CONFIG_CHECK_S = 1.0
# The secrets of the configuration, each declared valid this long from the stack's start
# (plan 3.1 archives keys for at most 90 days; section 2 pages when one nears its expiry).
SECRETS = ("billing.callback_secret", "exports.secret_key")
KEY_LIFETIME_S = 90 * 86400.0
# The Deployment's Pods leave the router's endpoints this long before they are stopped.
PRE_STOP_S = 2

__all__ = ["REPO_ROOT", "ServiceDeployments", "write_config"]


def write_config(path: Path, config: dict) -> None:
    """A process's JSON config, readable by its owner only: it holds passwords and keys.
    Replaced whole, so that a replica checking the file never reads half of it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    draft = path.with_name(f"{path.name}.new")
    write_private(draft, json.dumps(config, indent=2))
    os.replace(draft, path)


def with_changes(config: dict, changes: Mapping[str, Any]) -> dict:
    """A copy of `config` with each dotted key of `changes` set to its value (its sections
    made where missing)."""
    changed = copy.deepcopy(config)
    for key, value in changes.items():
        *sections, name = key.split(".")
        node = changed
        for section in sections:
            node = node.setdefault(section, {})
            if not isinstance(node, dict):
                raise ValueError(f"configuration key {key!r}: {section!r} is not a section")
        node[name] = value
    return changed


# The replicas' own cache in front of Redis: a word asked again within a second is answered
# from the replica's memory. Short, so a replica serves nothing staler than that and the May
# drill's words (each asked again every 2 s) still read Redis, whose hit rate it measures.
L1_TTL_S = 1.0

# The month's LLM budget of the stack's service. The service's default (100,000 tokens) is
# used up by the calendar's own lookups (135% by the end of `make drills`), and July's drill
# needs the month below its 80%, also when December re-runs it last: a calendar run uses a few
# per cent of this.
MONTHLY_TOKENS = 10_000_000


def service_config(
    *,
    database_dsn: str,
    redis_url: str,
    llm: dict | None,
    exports: dict | None,
    billing: dict | None = None,
    region: str | None = None,
) -> dict:
    """The replicas' shared configuration; address, port and version come from the Pod."""
    config = {
        **({"region": region} if region else {}),
        "host": "127.0.0.1",
        "port": PORT,
        "database": {
            "dsn": database_dsn,
            "pool_min": 1,
            "pool_max": 8,
            "pool_timeout_s": 1.0,
            "connect_timeout_s": 1,
            "statement_timeout_ms": 2000,
        },
        "redis": {"url": redis_url, "socket_timeout_s": 0.5},
        "cache_ttl_s": 300,
        "l1_cache_ttl_s": L1_TTL_S,
        **({"llm": llm} if llm else {}),
        "budget": {"monthly_tokens": MONTHLY_TOKENS},
        "version": "v1",
        **({"exports": exports} if exports else {}),
        **({"billing": billing} if billing else {}),
        "config_check_s": CONFIG_CHECK_S,
    }
    secrets = [key for key in SECRETS if key.split(".")[0] in config]
    return with_changes(config, expiry_changes(secrets, time.time() + KEY_LIFETIME_S))


def deployment_name(zone: str) -> str:
    return f"{NAME}-{zone}"


def deployment(zone: str, replicas: int, version: str, config_path: Path) -> dict:
    labels = {"app": NAME, ZONE_LABEL: zone}
    container = {
        "name": NAME,
        # the image names the release; the node agent runs the command of this host
        "image": f"glancy/{NAME}:{version}",
        "command": [sys.executable, "-m", "reference"],
        "args": [
            *("--config", str(config_path)),
            *("--host", "$(POD_IP)", "--port", str(PORT), "--version", "$(GLANCY_VERSION)"),
        ],
        "workingDir": str(REPO_ROOT),
        "env": [
            {"name": "POD_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
            {"name": "GLANCY_VERSION", "value": version},
        ],
        "ports": [{"name": "http", "containerPort": PORT}],
        "readinessProbe": {
            "httpGet": {"path": "/healthz", "port": "http"},
            "periodSeconds": 1,
            "timeoutSeconds": 1,
            "failureThreshold": 2,
        },
        "lifecycle": {"preStop": {"sleep": {"seconds": PRE_STOP_S}}},
    }
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": deployment_name(zone), "namespace": NAMESPACE, "labels": labels},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": labels},
            # a new Pod is Ready before an old one goes: no zone loses a replica to a release
            "strategy": {
                "type": "RollingUpdate",
                "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0},
            },
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "nodeSelector": {ZONE_LABEL: zone},
                    "terminationGracePeriodSeconds": 10,
                    "automountServiceAccountToken": False,
                    "containers": [container],
                },
            },
        },
    }


def service_manifest() -> dict:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": NAME, "namespace": NAMESPACE, "labels": {"app": NAME}},
        "spec": {
            "selector": {"app": NAME},
            "ports": [{"name": "http", "port": PORT, "targetPort": "http"}],
        },
    }


class ServiceDeployments:
    """The service as its clients and operators see it: Pods behind the router.

    Clients use `url`, the router's. Admin calls go to every Ready Pod, since each has its
    own pool, breaker and configuration; a switch is also written to the shared file, so a
    Pod started later (a rollout, a restart) uses it too.
    """

    def __init__(
        self,
        *,
        kube: KubeControlPlane,
        config: dict,
        config_path: Path,
        replicas_per_zone: int,
        router: Router,
        ready_timeout_s: float,
    ) -> None:
        self.kube = kube
        self.config = config
        self.config_path = config_path
        self.replicas_per_zone = replicas_per_zone
        self.router = router
        self.ready_timeout_s = ready_timeout_s
        self.follower = EndpointFollower(kube, NAMESPACE, NAME, router)

    @property
    def url(self) -> str:
        return self.router.url

    @property
    def port(self) -> int:
        return self.router.port

    @property
    def expected_replicas(self) -> int:
        return self.replicas_per_zone * len(self.kube.zones)

    def spawn(self) -> None:
        """Write the configuration and start the router (no backend yet)."""
        write_config(self.config_path, self.config)
        self.router.spawn()

    def deploy(self) -> None:
        """Create the namespace, the Service and one Deployment per zone; the router
        follows the Service's endpoints from now on."""
        core, apps = client.CoreV1Api(self.kube.api), client.AppsV1Api(self.kube.api)
        timeout = {"_request_timeout": API_TIMEOUT_S}
        core.create_namespace({"metadata": {"name": NAMESPACE}}, **timeout)
        # made here, unless the controller-manager was quicker, rather than waited for: Pods
        # are refused until it exists
        try:
            core.create_namespaced_service_account(
                NAMESPACE, {"metadata": {"name": "default"}}, **timeout
            )
        except client.ApiException as exc:
            if exc.status != HTTPStatus.CONFLICT:
                raise
        core.create_namespaced_service(NAMESPACE, service_manifest(), **timeout)
        for zone in self.kube.zones:
            manifest = deployment(zone, self.replicas_per_zone, "v1", self.config_path)
            apps.create_namespaced_deployment(NAMESPACE, manifest, **timeout)
        self.follower.start()

    def wait_ready(self) -> None:
        """Until the router sends traffic to exactly the Service's Ready endpoints, as many
        as the Deployments ask for."""
        self.router.wait_ready()
        what = f"{self.expected_replicas} Ready replicas of {NAME} behind the router"
        try:
            wait_until(what, self._routed, self.ready_timeout_s, interval_s=0.05)
        except WaitTimeout as exc:
            raise RuntimeError(
                f"{exc}; see the pod logs in {self.kube.logs / 'pods'} and "
                f"{self.kube.logs}/node-*.log"
            ) from exc

    def _routed(self) -> tuple[bool, str]:
        routed = self.router.backends
        ready = self.kube.cluster.ready_endpoints(NAMESPACE, NAME)
        done = len(routed) == self.expected_replicas and routed == ready
        return done, f"routed to {routed}, Ready endpoints {ready}"

    def stop(self) -> None:
        """Stop following endpoints, then the router; the Pods go with their nodes."""
        self.follower.stop()
        self.router.stop()

    def pids(self) -> dict[str, int | None]:
        return {"router": self.router.pid()}

    def admin_urls(self) -> list[str]:
        """Each Ready Pod's own URL, in the order of the router's backends."""
        return [f"http://{backend}" for backend in self.router.backends]

    def _replicas(self, timeout_s: float = HTTP_TIMEOUT_S) -> list[GlancyClient]:
        return [GlancyClient(url, timeout_s) for url in self.admin_urls()]

    def versions(self) -> list[str]:
        return [replica.version() for replica in self._replicas()]

    def deployed_version(self, zone: str) -> str:
        """The release the zone's Deployment runs: its image's tag."""
        found = client.AppsV1Api(self.kube.api).read_namespaced_deployment(
            deployment_name(zone), NAMESPACE, _request_timeout=API_TIMEOUT_S
        )
        return found.spec.template.spec.containers[0].image.rpartition(":")[2]

    def roll_to(self, version: str) -> list[dict]:
        """A release (or a rollback) as the Deployments roll it: one zone at a time, each
        zone's new Pod Ready before its old one goes; each rollout timed. Returns once the
        router sends traffic to exactly the Ready Pods (wait_ready)."""
        steps = []
        for zone in self.kube.zones:
            if self.deployed_version(zone) == version:
                continue
            container = {
                "name": NAME,
                "image": f"glancy/{NAME}:{version}",
                "env": [{"name": "GLANCY_VERSION", "value": version}],
            }
            name = deployment_name(zone)
            self.kube.cluster.patch_template(NAMESPACE, name, {"spec": {"containers": [container]}})
            rollout = self.kube.cluster.wait_rollout(NAMESPACE, name, 2 * self.ready_timeout_s)
            steps.append({**rollout.as_dict(), "version": version})
        self.wait_ready()
        return steps

    def switch_database(self, dsn: str) -> dict:
        """The shared file first, so a Pod starting from now on connects there; then every
        Ready replica (PUT /admin/database). A Pod that started before and is not Ready yet
        keeps the endpoint it read: a switch during a rollout can miss it."""
        self.config["database"]["dsn"] = dsn
        write_config(self.config_path, self.config)
        return self._switch("/admin/database", {"dsn": dsn})

    def database(self) -> dict:
        return same_answer([r.call("GET", "/admin/database") for r in self._replicas()])

    def switch_redis(self, url: str) -> dict:
        """As switch_database, for the Redis node."""
        self.config["redis"]["url"] = url
        write_config(self.config_path, self.config)
        return self._switch("/admin/redis", {"url": url})

    def force_l2(self, force: bool) -> dict:
        """As switch_database, for the cache mode: L2 forced (the replicas' L1 bypassed) or
        not, kept across a rollout restart since the shared file says it too."""
        self.config["force_l2"] = force
        write_config(self.config_path, self.config)
        return self._switch("/admin/cache/mode", {"force_l2": force})

    def publish(self, changes: Mapping[str, Any], trace_id: str) -> dict:
        """A release of the configuration the replicas run, with `changes`, under `trace_id`,
        in the file they read it from: they check it (reference.config_check) and keep serving
        what they loaded. The result names the keys, never their values (secrets)."""
        release = {**with_changes(self.config, changes), "trace_id": trace_id}
        write_config(self.config_path, release)
        return {"keys": sorted(changes), "trace_id": trace_id}

    def publish_running(self) -> None:
        """The configuration the replicas run published again: a release's revert."""
        write_config(self.config_path, self.config)

    def _switch(self, path: str, body: dict) -> dict:
        replicas = self._replicas()
        if not replicas:
            raise RuntimeError(f"{NAME}: no Ready replica to switch (PUT {path})")
        return same_answer([replica.call("PUT", path, body) for replica in replicas])

    def redis(self) -> dict:
        return same_answer([r.call("GET", "/admin/redis") for r in self._replicas()])

    def llm_breaker(self) -> dict:
        return replicas_breaker([r.llm_breaker() for r in self._replicas()])

    def cache_stats(self, timeout_s: float = HTTP_TIMEOUT_S) -> dict:
        """The service's result-cache reads: every Ready Pod asked directly, summed."""
        return replicas_cache_stats([r.cache_stats() for r in self._replicas(timeout_s)])
