"""Preflight of a live profile's endpoints: each capability the selected scenarios need, checked
by reading it once (a connection, a PING, GET /healthz, the proxies' list), never by acting.

Every check is bounded by the context's preflight timeout and reports a Finding instead of
raising, so one unreachable endpoint never hides the others.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import redis

from drillbook.environments import Finding
from drillbook.environments.live.context import LiveContext
from drillbook.environments.live.storage import LiveStorage
from drillbook.glancy import GlancyClient
from drillbook.glancy_sql import IN_RECOVERY
from drillbook.pgconnect import connect
from drillbook.platform.kubernetes import ZONE_LABEL, Cluster, cluster_from_kubeconfig
from drillbook.profile import Profile


def endpoint_findings(profile: Profile, capabilities: list[str]) -> list[Finding]:
    """The endpoints behind each capability, each checked once."""
    context = LiveContext.of(profile)
    checks: dict[str, Callable[[LiveContext], Iterator[Finding]]] = {
        "service": service,
        "database": database,
        "cache": cache,
        "storage": storage,
        "network": network,
        "platform": platform,
        "monitoring": monitoring,
    }
    # The export queue is read through the service, the database and object storage.
    wanted = [EXPORTS if name == "exports" else (name,) for name in capabilities]
    names = dict.fromkeys(name for group in wanted for name in group)
    return [finding for name in names for finding in checks[name](context)]


EXPORTS = ("service", "database", "storage")


def checked(what: str, probe: Callable[[], str]) -> Finding:
    """A Finding from a probe that returns what it saw, or raises saying what is wrong."""
    try:
        return Finding(what, True, probe())
    except Exception as exc:  # every failure of a probe is a finding, not a crash
        return Finding(what, False, f"{type(exc).__name__}: {exc}")


def service(context: LiveContext) -> Iterator[Finding]:
    endpoints = context.endpoints
    for url in dict.fromkeys([endpoints["service"], *endpoints.get("service_admin", [])]):
        api = GlancyClient(url, context.preflight_timeout_s)
        yield checked(f"service {url}", lambda api=api: f"GET /healthz: {api.health()}")
    if "service_admin" not in endpoints:
        yield checked(
            "service replicas (live.endpoints.kubernetes.service)", lambda: _replicas(context)
        )


def _replicas(context: LiveContext) -> str:
    """The Service's Ready endpoints, each answering GET /healthz."""
    service = context.endpoints["kubernetes"]["service"]
    cluster = _cluster(context)
    backends = cluster.ready_endpoints(service["namespace"], service["name"])
    if not backends:
        raise RuntimeError(
            f"service {service['namespace']}/{service['name']} has no Ready endpoint"
        )
    for backend in backends:
        GlancyClient(f"http://{backend}", context.preflight_timeout_s).health()
    return f"{len(backends)} Ready endpoints answer GET /healthz: {', '.join(backends)}"


def _cluster(context: LiveContext) -> Cluster:
    return _connect(context.endpoints["kubernetes"])


def _connect(kubernetes: dict[str, Any]) -> Cluster:
    return cluster_from_kubeconfig(kubernetes["kubeconfig"], kubernetes.get("context"))


def platform(context: LiveContext) -> Iterator[Finding]:
    kubernetes = context.endpoints["kubernetes"]
    yield checked(f"kubernetes ({kubernetes['kubeconfig']})", lambda: _zones(_connect(kubernetes)))
    for region, spec in context.endpoints.get("regions", {}).items():
        if "kubernetes" in spec:
            yield checked(
                f"kubernetes of region {region} ({spec['kubernetes']['kubeconfig']})",
                lambda spec=spec: _zones(_connect(spec["kubernetes"])),
            )


def _zones(cluster: Cluster) -> str:
    zones = cluster.node_zones()
    if not any(zones.values()):
        raise RuntimeError(f"no node has the zone label {ZONE_LABEL}: {sorted(zones)}")
    listed = ", ".join(f"{node} ({zone or 'no zone'})" for node, zone in sorted(zones.items()))
    return f"nodes: {listed}"


def database(context: LiveContext) -> Iterator[Finding]:
    endpoints = context.endpoints
    for zone, dsn in endpoints["postgres"].items():
        expected = "primary" if zone == endpoints["primary_zone"] else "standby"
        yield checked(
            f"postgres {zone} (live.endpoints.postgres)",
            lambda dsn=dsn, expected=expected: _role(dsn, expected, context),
        )
    for zone, dsn in endpoints["postgres_app"].items():
        yield checked(
            f"postgres {zone} as clients reach it (live.endpoints.postgres_app)",
            lambda dsn=dsn: _role(dsn, None, context),
        )


def _role(dsn: str, expected: str | None, context: LiveContext) -> str:
    with connect(dsn, context.preflight_timeout_s, autocommit=True) as conn:
        [(in_recovery,)] = conn.execute(IN_RECOVERY).fetchall()
    role = "standby" if in_recovery else "primary"
    if expected is not None and role != expected:
        raise RuntimeError(f"is a {role}, and a drill starts from it being the {expected}")
    return f"connected; {role}"


def cache(context: LiveContext) -> Iterator[Finding]:
    for node, url in context.endpoints["redis"].items():
        yield checked(f"redis {node}", lambda url=url: _ping(url, context.preflight_timeout_s))


def _ping(url: str, timeout_s: float) -> str:
    client = redis.Redis.from_url(url, socket_timeout=timeout_s, socket_connect_timeout=timeout_s)
    try:
        client.ping()
        return f"PING answered; role {client.info('replication')['role']}"
    finally:
        client.close()


def monitoring(context: LiveContext) -> Iterator[Finding]:
    watch = context.endpoints["monitoring"]
    for what, url in (
        ("prometheus", f"{watch['prometheus'].rstrip('/')}/-/ready"),
        ("alert receiver", f"{watch['alert_receiver'].rstrip('/')}/healthz"),
    ):
        yield checked(f"{what} {url}", lambda url=url: _answers(url, context.preflight_timeout_s))


def _answers(url: str, timeout_s: float) -> str:
    response = httpx.get(url, timeout=timeout_s)
    response.raise_for_status()
    return f"GET answered {response.status_code}"


def storage(context: LiveContext) -> Iterator[Finding]:
    store = LiveStorage(context.endpoints["s3"], context.endpoints["storage"])
    bucket = context.endpoints["storage"]["exports_bucket"]
    for region in store.regions:
        yield checked(f"s3 {region}", lambda region=region: _bucket(store.client(region), bucket))


def _bucket(client: Any, bucket: str) -> str:
    versioning = client.get_bucket_versioning(Bucket=bucket).get("Status", "off")
    return f"bucket {bucket} readable; versioning {versioning}"


def network(context: LiveContext) -> Iterator[Finding]:
    links = context.endpoints.get("links") or {}
    url = context.endpoints["toxiproxy"]
    client = context.toxiproxy(context.preflight_timeout_s)
    try:
        proxies = client.proxies()
    except Exception as exc:  # the API is down: each link would say the same
        yield Finding(f"toxiproxy {url}", False, f"{type(exc).__name__}: {exc}")
        return
    finally:
        client.close()
    yield Finding(f"toxiproxy {url}", True, f"proxies: {', '.join(sorted(proxies))}")
    regions = context.endpoints.get("regions", {})
    named = [*links, *(link for spec in regions.values() for link in spec["links"])]
    for link in dict.fromkeys(named):
        proxy = links.get(link, link)
        ok = proxy in proxies
        yield Finding(f"network link {link}", ok, f"proxy {proxy} {'exists' if ok else 'missing'}")
