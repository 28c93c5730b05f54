"""The live capabilities' pieces that need no staging: what a profile's endpoints provide, the
DSN of a restored instance, the replicas' answers made one, a release refused from mixed
versions (against small HTTP servers standing for replicas), and the network's faults against
a real Toxiproxy server through a link-name mapping."""

from __future__ import annotations

import json
import socket
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from psycopg.conninfo import conninfo_to_dict

from drillbook.capabilities.monitoring import FRONT_DOOR_REQUESTS, RequestCounter
from drillbook.capabilities.operation import Operation
from drillbook.capabilities.service import RELEASE
from drillbook.environments import MissingCapability
from drillbook.environments.live.bindings import MissingBinding
from drillbook.environments.live.database import (
    LiveDatabase,
    pid_of,
    restored_dsn,
    where_restored,
)
from drillbook.environments.live.environment import LiveEnvironment, Unprovided
from drillbook.environments.live.exports import killed_task
from drillbook.environments.live.operations import OPERATIONS
from drillbook.environments.live.preflight import endpoint_findings
from drillbook.environments.live.service import LiveService
from drillbook.environments.live.storage import LiveStorage
from drillbook.environments.proxied_network import ProxiedNetwork
from drillbook.faults.recover import run_recover
from drillbook.glancy import replicas_breaker, replicas_cache_stats, same_answer
from drillbook.profile import Profile, ProfileError, load_profile
from drillbook.stack.ports import free_port
from drillbook.stack.toxiproxy_server import ToxiproxyServer, find_toxiproxy_server
from drillbook.waits import WaitTimeout

SERVICE = "http://glancy.staging.example:8080"
S3 = {
    region: {
        "endpoint": f"http://{region}.s3.example",
        "access_key_id": "k",
        "secret_access_key": "s",
    }
    for region in ("ap-southeast-1", "ap-northeast-1")
}
STORAGE = {
    "primary_region": "ap-southeast-1",
    "dr_region": "ap-northeast-1",
    "replication_link": "crr",
    "exports_bucket": "glancy-exports",
}
EVERY_ENDPOINT = {
    "service": SERVICE,
    "service_admin": [SERVICE],
    "postgres": {"az-a": "postgresql://u:p@a/glancy", "az-b": "postgresql://u:p@b/glancy"},
    "postgres_app": {"az-a": "postgresql://app:p@a/glancy", "az-b": "postgresql://app:p@b/glancy"},
    "primary_zone": "az-a",
    "redis": {"primary": "redis://r1:6379/0", "replica": "redis://r2:6379/0"},
    "toxiproxy": "http://toxiproxy.example:8474",
    "s3": S3,
    "storage": STORAGE,
}


def profile(endpoints: dict[str, Any], bindings: dict[str, Any] | None = None) -> Profile:
    return Profile(
        name="staging",
        kind="live",
        path=Path("environments/staging.yaml"),
        destructive=False,
        runbook_url="https://wiki.example/dr",
        workload={},
        timeouts={"ready_s": 5.0},
        live={"endpoints": endpoints, "bindings": bindings or {}},
    )


class FakeBindings:
    """The Bindings API the capabilities use: each operation answers `answers[name]` and
    records its revert."""

    def __init__(self, answers: dict[str, Any] | None = None) -> None:
        self.answers = answers or {}
        self.built: list[tuple[str, str, str, dict, dict]] = []
        self.reverted: list[str] = []

    def has(self, name: str) -> bool:
        return name in self.answers

    def operation(
        self, name: str, kind: str, target: str, params: dict[str, Any], **detail: Any
    ) -> Operation[Any]:
        self.built.append((name, kind, target, params, detail))
        return Operation(
            OPERATIONS[name].role,
            kind,
            target,
            lambda: self.answers[name],
            lambda: self.reverted.append(name),
            detail=detail,
        )


# --- what the endpoints provide ------------------------------------------------------------


def test_every_endpoint_provides_every_capability() -> None:
    provided = LiveEnvironment.provides_for(profile(EVERY_ENDPOINT))
    assert provided == {"service", "database", "cache", "storage", "network", "exports"}


def test_the_service_alone_provides_the_service() -> None:
    assert LiveEnvironment.provides_for(profile({"service": SERVICE})) == {"service"}


def test_exports_need_the_database_and_the_stores() -> None:
    endpoints = {k: v for k, v in EVERY_ENDPOINT.items() if k != "postgres"}
    provided = LiveEnvironment.provides_for(profile(endpoints))
    assert "exports" not in provided
    assert "database" not in provided
    assert {"storage", "cache", "network", "service"} <= provided


def test_storage_needs_its_roles_as_well_as_the_stores() -> None:
    endpoints = {k: v for k, v in EVERY_ENDPOINT.items() if k != "storage"}
    assert not {"storage", "exports"} & LiveEnvironment.provides_for(profile(endpoints))


def test_an_unbound_operation_is_refused_naming_the_profile_and_what_is_bound() -> None:
    bound = profile(EVERY_ENDPOINT, {"database.promote": object()})
    refusal = LiveEnvironment.operation_refusal(bound, "database.kill_primary")
    assert refusal is not None
    assert "environments/staging.yaml" in refusal
    assert "'database.kill_primary'" in refusal
    assert "bound: database.promote" in refusal
    assert LiveEnvironment.operation_refusal(bound, "database.promote") is None


@pytest.mark.parametrize(
    "built_in", ["network.cut", "database.delete_rows", "service.spend_tokens"]
)
def test_built_in_operations_need_no_binding(built_in: str) -> None:
    assert LiveEnvironment.operation_refusal(profile(EVERY_ENDPOINT), built_in) is None


def test_the_service_without_a_database_says_what_the_profile_lacks() -> None:
    unprovided = Unprovided("database", profile({}))
    service = LiveService(SERVICE, lambda: [SERVICE], unprovided, FakeBindings())
    with pytest.raises(MissingCapability, match=r"staging.yaml.*needs postgres"):
        service.add_users(["u1"], 10)


# --- the database ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "dsn",
    [
        "postgresql://admin:s3cret@pg-a.internal:5432/glancy?sslmode=require",
        "host=pg-a.internal hostaddr=10.0.0.5 port=5432 user=admin password=s3cret "
        "dbname=glancy sslmode=require",
    ],
)
def test_a_restored_instance_is_reached_with_the_primary_zones_credentials(dsn: str) -> None:
    restored = conninfo_to_dict(restored_dsn(dsn, "pitr-1.internal", 6543))
    assert restored == {
        "host": "pitr-1.internal",
        "port": "6543",
        "user": "admin",
        "password": "s3cret",
        "dbname": "glancy",
        "sslmode": "require",
    }


def test_the_restore_bindings_answer_must_name_host_and_port() -> None:
    assert where_restored({"host": "h", "port": 5432}) == ("h", 5432)
    with pytest.raises(ValueError, match=r"database.restore_to binding must answer.*'5432'"):
        where_restored({"host": "h", "port": "5432"})


def test_a_kill_binding_may_report_a_pid() -> None:
    assert pid_of({"pid": 4242}) == 4242
    assert pid_of("killed") is None


def test_a_restore_needs_an_aware_target_and_a_new_name() -> None:
    database = LiveDatabase(
        EVERY_ENDPOINT["postgres"], EVERY_ENDPOINT["postgres_app"], "az-a", FakeBindings(), 1.0
    )
    with pytest.raises(ValueError, match="timezone-aware"):
        database.restore_to(datetime(2025, 1, 1, 12, 0), "copy")
    with pytest.raises(ValueError, match="'az-b' already exists"):
        database.restore_to(datetime.fromisoformat("2025-01-01T12:00:00+08:00"), "az-b")
    with pytest.raises(LookupError, match=r"no PostgreSQL instance 'copy'.*\['az-a', 'az-b'\]"):
        database.instance("copy")


def test_the_services_app_dsn_is_the_zones_clients_path() -> None:
    database = LiveDatabase(
        EVERY_ENDPOINT["postgres"], {"az-a": "postgresql://app@lb/glancy"}, "az-a", None, 1.0
    )
    assert database.instance("az-a").app_dsn == "postgresql://app@lb/glancy"
    assert database.instance("az-b").app_dsn == EVERY_ENDPOINT["postgres"]["az-b"]
    assert database.admin_dsn("az-b") == EVERY_ENDPOINT["postgres"]["az-b"]


# --- the replicas made one -----------------------------------------------------------------


def test_replicas_breaker_shares_a_state_or_says_mixed() -> None:
    closed = {"state": "closed", "transitions": [{"at": 2.0, "to": "closed"}]}
    opened = {"state": "open", "transitions": [{"at": 1.0, "to": "open"}]}
    merged = replicas_breaker([closed, opened])
    assert merged["state"] == "mixed"
    assert merged["transitions"] == [
        {"at": 1.0, "to": "open", "replica": 2},
        {"at": 2.0, "to": "closed", "replica": 1},
    ]
    assert replicas_breaker([closed, closed])["state"] == "closed"


def test_replicas_cache_stats_are_summed_since_the_latest_start() -> None:
    one = {"hits": 3, "misses": 1, "unavailable": 0, "since": 100.0}
    two = {"hits": 5, "misses": 2, "unavailable": 1, "since": 150.0}
    stats = replicas_cache_stats([one, two])
    assert (stats["hits"], stats["misses"], stats["unavailable"]) == (8, 3, 1)
    assert stats["since"] == 150.0
    assert stats["replicas"] == [one, two]


def test_replicas_that_disagree_are_an_error() -> None:
    assert same_answer([{"dsn": "a"}, {"dsn": "a"}]) == {"dsn": "a"}
    with pytest.raises(RuntimeError, match="disagree"):
        same_answer([{"dsn": "a"}, {"dsn": "b"}])


# --- the service against replicas that answer over HTTP -----------------------------------


@contextmanager
def replica(answers: dict[str, Any]) -> Iterator[str]:
    """An HTTP server answering GET path -> JSON from `answers`, 404 otherwise."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            body = answers.get(self.path.split("?")[0])
            data = json.dumps(body).encode()
            self.send_response(404 if body is None else 200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def replicas() -> Iterator[tuple[dict, dict, list[str]]]:
    """Two replicas; each test sets what they answer."""
    one: dict[str, Any] = {}
    two: dict[str, Any] = {}
    with replica(one) as first, replica(two) as second:
        yield one, two, [first, second]


def service_of(urls: list[str], bindings: FakeBindings) -> LiveService:
    database = LiveDatabase({"az-a": "postgresql://u@a/glancy"}, {}, "az-a", bindings, 1.0)
    return LiveService(urls[0], lambda: urls, database, bindings)


def test_a_release_from_mixed_versions_is_refused(replicas: tuple) -> None:
    one, two, urls = replicas
    one["/healthz"] = {"status": "ok", "version": "v1"}
    two["/healthz"] = {"status": "ok", "version": "v2"}
    bindings = FakeBindings({"service.roll_out": []})
    service = service_of(urls, bindings)
    assert service.versions() == ["v1", "v2"]
    with pytest.raises(RuntimeError, match=r"mixed versions \['v1', 'v2'\]"):
        service.roll_out("v3")
    assert bindings.built == []


def test_a_release_is_the_binding_with_the_version_it_rolls_back_to(replicas: tuple) -> None:
    one, two, urls = replicas
    one["/healthz"] = two["/healthz"] = {"status": "ok", "version": "v1"}
    steps = [{"replica": 1, "version": "v2", "took_s": 3.5}]
    bindings = FakeBindings({"service.roll_out": steps})
    operation = service_of(urls, bindings).roll_out("v2")
    assert (operation.role, operation.kind, operation.target) == ("fault", "release v2", RELEASE)
    assert bindings.built[0][3] == {"version": "v2", "previous": "v1"}
    assert operation.detail == {"version": "v2", "previous": "v1"}
    assert operation.run() == steps


def test_admin_reads_ask_every_replica(replicas: tuple) -> None:
    one, two, urls = replicas
    one["/admin/llm"] = {"state": "open", "transitions": [{"at": 1.0, "to": "open"}]}
    two["/admin/llm"] = {"state": "open", "transitions": []}
    one["/admin/cache/stats"] = {"hits": 1, "misses": 0, "unavailable": 0, "since": 5.0}
    two["/admin/cache/stats"] = {"hits": 2, "misses": 4, "unavailable": 0, "since": 9.0}
    service = service_of(urls, FakeBindings())
    breaker = service.llm_breaker()
    assert breaker["state"] == "open"
    assert breaker["transitions"] == [{"at": 1.0, "to": "open", "replica": 1}]
    stats = service.cache_stats()
    assert (stats["hits"], stats["misses"], stats["since"]) == (3, 4, 9.0)


def test_pointing_the_service_names_a_known_instance_or_node(replicas: tuple) -> None:
    bindings = FakeBindings({"service.point_database": {"dsn": "az-a"}})
    service = service_of(replicas[2], bindings)
    with pytest.raises(LookupError, match="no PostgreSQL instance 'az-z'"):
        service.point_database("az-z")
    with pytest.raises(LookupError, match="no Redis node 'tertiary'"):
        service.point_cache("tertiary")
    operation = service.point_database("az-a")
    assert operation.target == "service database -> az-a"
    assert bindings.built[-1][3] == {"name": "az-a"}


# --- exports and storage -------------------------------------------------------------------


def test_the_worker_kill_binding_must_name_what_it_killed() -> None:
    killed = {"pid": 7, "task": "t1", "stream_entry": "1-0", "attempt_started_at": 1.5}
    assert killed_task(killed) == killed
    with pytest.raises(ValueError, match=r"must answer JSON with \['pid', 'task'"):
        killed_task({"pid": 7})


def test_storage_replicates_to_the_dr_region_through_the_profiles_link() -> None:
    storage = LiveStorage(S3, STORAGE)
    assert storage.regions == ["ap-southeast-1", "ap-northeast-1"]
    assert storage.replication_link("ap-northeast-1") == "crr"
    with pytest.raises(LookupError, match="no replication to region 'ap-southeast-1'"):
        storage.replication_link("ap-southeast-1")
    with pytest.raises(LookupError, match="no object store in region 'eu-west-1'"):
        storage.client("eu-west-1")
    client = storage.client("ap-northeast-1")
    assert client is storage.client("ap-northeast-1")
    assert client.meta.endpoint_url == "http://ap-northeast-1.s3.example"
    assert storage.new_client("ap-northeast-1") is not client


# --- the network against a real Toxiproxy server ------------------------------------------


@pytest.fixture(scope="module")
def toxiproxy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ToxiproxyServer]:
    try:
        binary = find_toxiproxy_server()
    except FileNotFoundError as exc:
        pytest.skip(str(exc))
    log = tmp_path_factory.mktemp("toxiproxy") / "toxiproxy.log"
    server = ToxiproxyServer(binary=binary, port=free_port(), log_path=log, ready_timeout_s=10)
    server.spawn()
    try:
        server.wait_ready()
        yield server
    finally:
        server.stop()


@pytest.fixture
def network(toxiproxy: ToxiproxyServer) -> Iterator[ProxiedNetwork]:
    """The link "s3-crr" of the features is the proxy "staging-crr"; "llm" is its own."""
    client = toxiproxy.client
    for name in ("staging-crr", "llm"):
        client.create_proxy(name, f"127.0.0.1:{free_port()}", "127.0.0.1:1")
    yield ProxiedNetwork(client, {"s3-crr": "staging-crr"})
    for name in ("staging-crr", "llm"):
        client.delete_proxy(name)


def test_a_cut_acts_on_the_mapped_proxy_under_the_links_name(network: ProxiedNetwork) -> None:
    operation = network.cut("s3-crr")
    assert operation.target == "proxy s3-crr"
    assert operation.recover == {
        "op": "toxiproxy-reset",
        "url": network.toxiproxy.base_url,
        "proxy": "staging-crr",
    }
    operation.run()
    assert network.state("s3-crr")["enabled"] is False
    assert network.toxiproxy.proxy("staging-crr").enabled is False
    operation.revert()
    assert network.state("s3-crr")["enabled"] is True


def test_latency_and_silence_are_reset_by_the_recover_op(network: ProxiedNetwork) -> None:
    latency, silence = network.latency("s3-crr", 250), network.silence("s3-crr")
    latency.run()
    silence.run()
    toxics = {t["type"]: t["attributes"] for t in network.state("s3-crr")["toxics"]}
    assert toxics == {"latency": {"latency": 250, "jitter": 0}, "timeout": {"timeout": 0}}
    run_recover(latency.recover)
    assert network.state("s3-crr")["toxics"] == ()


def test_an_unmapped_link_is_the_proxy_of_its_name(network: ProxiedNetwork) -> None:
    operation = network.cut("llm")
    assert operation.recover["proxy"] == "llm"
    operation.run()
    assert network.toxiproxy.proxy("llm").enabled is False
    operation.revert()


def test_an_unknown_link_lists_the_links_by_their_names(network: ProxiedNetwork) -> None:
    with pytest.raises(LookupError, match=r"no network link 'redis'.*'llm'.*'s3-crr'"):
        network.cut("redis")


# --- the environment of a loaded profile, its bindings real ---------------------------------

PROFILE = """
name: staging
kind: live
destructive: false
runbook_url: https://wiki.example/dr
workload: {{probe_timeout_ms: 2000, window_s: 5.0, window_requests: 20}}
timeouts: {{ready_s: 1}}
live:
  endpoints:
    service: {service}
    redis: {{primary: "redis://127.0.0.1:1/0", replica: "redis://127.0.0.1:2/0"}}
  bindings:
    cache.kill_primary:
      run:
        kind: command
        argv: [{python}, -c, "import json; print(json.dumps(dict(pid=4242)))"]
        output: json
      revert: {{kind: command, argv: [{python}, -c, "print('started')"], timeout_s: 5}}
"""


def live_environment(tmp_path: Path, service: str) -> LiveEnvironment:
    path = tmp_path / "staging.yaml"
    path.write_text(PROFILE.format(service=service, python=sys.executable))
    return LiveEnvironment(load_profile(path, {}), tmp_path, lambda _: None)


def test_a_loaded_profiles_environment_runs_its_bindings(tmp_path: Path) -> None:
    with replica({"/healthz": {"status": "ok", "version": "v1"}}) as url:
        environment = live_environment(tmp_path, url)
        environment.start()
    assert environment.provides_for(environment.profile) == {"service", "cache"}
    with pytest.raises(MissingCapability, match=r"no capability 'database'.*give: cache, service"):
        environment.capability("database")
    since = time.time()
    cache = environment.capability("cache")
    killed = cache.kill_primary()
    assert (killed.role, killed.kind, killed.target) == ("fault", "kill -9", "redis primary")
    assert killed.recover is not None and killed.recover["binding"] == "cache.kill_primary"
    assert killed.run() == 4242
    killed.revert()
    commands = environment.commands_since(since)
    assert [c.output.strip() for c in commands] == ['{"pid": 4242}', "started"]
    with pytest.raises(
        MissingBinding, match=r"staging.yaml: no binding for the operation cache.wipe"
    ):
        cache.wipe_primary()
    assert environment.recover_op() is None


def test_start_refuses_a_service_that_does_not_answer(tmp_path: Path) -> None:
    environment = live_environment(tmp_path, f"http://127.0.0.1:{free_port()}")
    with pytest.raises(
        WaitTimeout, match=r"staging.yaml to answer GET http://127.0.0.1:\d+/healthz"
    ):
        environment.start()


REGIONS = """
    toxiproxy: http://toxiproxy.example:8474
    kubernetes: {{kubeconfig: {kubeconfig}, context: staging}}
    regions:
      ap-southeast-1:
        links: [entry-sg, pg-az-a]
      ap-northeast-1:
        links: [entry-tyo, pg-tyo]
        kubernetes: {{kubeconfig: {kubeconfig}, context: ap-northeast-1}}
"""


def test_the_regions_links_and_clusters_come_from_the_profile(tmp_path: Path) -> None:
    path = tmp_path / "staging.yaml"
    text = PROFILE.format(service=SERVICE, python=sys.executable)
    endpoints = REGIONS.format(kubeconfig=tmp_path / "kubeconfig")
    path.write_text(text.replace("  bindings:\n", endpoints.lstrip("\n") + "  bindings:\n", 1))
    environment = LiveEnvironment(load_profile(path, {}), tmp_path, lambda _: None)
    network = environment.capability("network")
    assert network.region_links("ap-northeast-1") == ["entry-tyo", "pg-tyo"]
    with pytest.raises(LookupError, match=r"region 'eu-west-1'.*ap-southeast-1, ap-northeast-1"):
        network.region_links("eu-west-1")
    # only the regions that name their own cluster have one to read
    assert list(environment.capability("platform").regions) == ["ap-northeast-1"]


def test_a_regions_link_list_is_required(tmp_path: Path) -> None:
    path = tmp_path / "staging.yaml"
    text = PROFILE.format(service=SERVICE, python=sys.executable)
    broken = "    regions:\n      ap-northeast-1: {kubernetes: {kubeconfig: k}}\n"
    path.write_text(text.replace("  bindings:\n", broken + "  bindings:\n", 1))
    with pytest.raises(ProfileError, match=r"live.endpoints.regions.ap-northeast-1.links"):
        load_profile(path, {})


def test_the_region_failover_is_refused_on_a_real_aws_account() -> None:
    real = profile(EVERY_ENDPOINT | {"aws": {"region": "ap-southeast-1"}})
    refusal = LiveEnvironment.operation_refusal(real, "cloud.fail_over_region")
    assert refusal is not None and "Aurora PostgreSQL does not have on AWS" in refusal
    emulated = {"region": "ap-southeast-1", "endpoint_url": "http://127.0.0.1:4566"}
    assert (
        LiveEnvironment.operation_refusal(
            profile(EVERY_ENDPOINT | {"aws": emulated}), "cloud.fail_over_region"
        )
        is None
    )


MONITORING = {
    "prometheus": "http://prometheus.example:9090",
    "alert_receiver": "http://receiver.example:9095",
    "scrape_interval_s": 15.0,
}


def test_monitoring_is_provided_only_where_the_profile_names_it(tmp_path):
    assert "monitoring" not in LiveEnvironment.provides_for(profile(EVERY_ENDPOINT))
    watched = profile(EVERY_ENDPOINT | {"monitoring": MONITORING})
    assert "monitoring" in LiveEnvironment.provides_for(watched)
    monitoring = LiveEnvironment(watched, tmp_path, lambda _: None).capability("monitoring")
    assert monitoring.scrape_interval_s == 15.0
    assert "http://prometheus.example:9090" in monitoring.describe()
    assert monitoring.front_door == FRONT_DOOR_REQUESTS
    balancer = {"metric": "nginx_ingress_controller_requests", "endpoint_label": "path"}
    watched = profile(EVERY_ENDPOINT | {"monitoring": {**MONITORING, "front_door": balancer}})
    monitoring = LiveEnvironment(watched, tmp_path, lambda _: None).capability("monitoring")
    assert monitoring.front_door == RequestCounter("nginx_ingress_controller_requests", "path")


def test_preflight_names_an_unreachable_prometheus_and_receiver():
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{sock.getsockname()[1]}"
    watched = profile(
        EVERY_ENDPOINT
        | {"monitoring": {**MONITORING, "prometheus": closed, "alert_receiver": closed}}
    )
    findings = endpoint_findings(watched, ["monitoring"])
    assert [finding.ok for finding in findings] == [False, False]
    assert findings[0].what == f"prometheus {closed}/-/ready"
    assert findings[1].what == f"alert receiver {closed}/healthz"
