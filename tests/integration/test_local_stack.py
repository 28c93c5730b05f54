"""The local stack with real processes: PostgreSQL pair, Redis, Toxiproxy, reference service."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from ipaddress import ip_address
from pathlib import Path

import httpx
import psycopg
import pytest

from drillbook.environments.local.heal import keep_orders
from drillbook.stack import ComponentNotReady, LocalSettings, LocalStack
from drillbook.stack.pod_network import claimed_subnet, loopback_addresses
from drillbook.stack.ports import free_port
from drillbook.stack.postgres import APP_DB, PgNode
from drillbook.stack.process import ManagedProcess, pid_alive
from drillbook.stack.toxiproxy_server import find_toxiproxy_server

pytestmark = pytest.mark.integration

REFERENCE_MAIN = Path(__file__).resolve().parents[2] / "reference" / "__main__.py"


@pytest.fixture
def run_dir() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="drillbook-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def stack(run_dir: Path) -> Iterator[LocalStack]:
    if not REFERENCE_MAIN.exists():
        pytest.skip(f"{REFERENCE_MAIN} does not exist yet: the reference service is missing")
    try:
        find_toxiproxy_server()
    except FileNotFoundError as exc:
        pytest.skip(str(exc))
    local = LocalStack(LocalSettings(), run_dir)
    local.start()
    yield local
    local.stop()


def insert(dsn: str, *ids: int) -> None:
    with psycopg.connect(dsn) as conn:
        for row_id in ids:
            conn.execute(
                "INSERT INTO drill_writes(id, payload) VALUES (%s, %s)", [row_id, f"row {row_id}"]
            )
            conn.commit()


def ids(dsn: str) -> list[int]:
    with psycopg.connect(dsn) as conn:
        return [row[0] for row in conn.execute("SELECT id FROM drill_writes ORDER BY id")]


def processes_under(folder: Path) -> list[str]:
    """Command lines of live processes that mention `folder`."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if str(folder) in cmdline and pid_alive(int(entry.name)):
            found.append(f"{entry.name}: {cmdline}")
    return found


def test_stack_is_up_and_the_app_role_queries_through_proxy_pg_az_a(stack: LocalStack) -> None:
    az_a, az_b = stack.pg.node("az-a"), stack.pg.node("az-b")
    assert stack.toxiproxy.proxy("pg-az-a").upstream == az_a.address

    with psycopg.connect(az_a.app_dsn) as conn:
        user, port = conn.execute("SELECT current_user, inet_server_port()").fetchone()
    assert (user, port) == ("glancy", az_a.port)
    assert az_a.proxy_port != az_a.port
    assert not az_a.is_in_recovery()
    assert az_b.is_in_recovery()
    with stack.redis.primary.client() as redis_client:
        assert redis_client.ping()
    assert httpx.get(f"{stack.service.url}/healthz", timeout=2).status_code == 200


def test_stop_leaves_no_process_behind(run_dir: Path, stack: LocalStack) -> None:
    pids = stack.pids()
    expected = {"router", "toxiproxy", "redis", "redis-replica", "postgres az-a", "postgres az-b"}
    kubernetes = {"etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler"}
    assert expected | kubernetes | {"node agent az-a", "node agent az-b"} <= set(pids)
    pod_addresses = {a for a in loopback_addresses() if a in claimed_subnet(run_dir / "kube")}
    entry = ip_address(stack.kube.entry_ip)
    assert entry in pod_addresses  # where the region's clients come in
    assert len(pod_addresses - {entry}) == 2  # a Pod of the service per zone

    stack.stop()

    assert [name for name, pid in pids.items() if pid_alive(pid)] == []
    assert processes_under(run_dir) == []  # the Pods' processes too
    assert not pod_addresses & loopback_addresses()


def test_kill9_of_the_primary_then_promoted_az_b_takes_writes(stack: LocalStack) -> None:
    az_a, az_b = stack.pg.node("az-a"), stack.pg.node("az-b")
    insert(az_a.app_dsn, 1, 2, 3)
    stack.pg.wait_standby_caught_up()

    az_a.kill9()
    assert az_a.pid() is None
    az_b.promote(timeout=10)
    insert(az_b.app_dsn, 4)

    assert ids(az_b.app_dsn) == [1, 2, 3, 4]
    assert stack.pg.primary is az_b


def test_restore_topology_brings_back_az_a_with_rows_written_on_az_b(stack: LocalStack) -> None:
    az_a, az_b = stack.pg.node("az-a"), stack.pg.node("az-b")
    insert(az_a.app_dsn, 1)
    stack.pg.wait_standby_caught_up()
    az_a.kill9()
    az_b.promote(timeout=10)
    insert(az_b.app_dsn, 2)

    stack.pg.restore_topology()

    assert not az_a.is_in_recovery()
    assert az_b.is_in_recovery()
    assert ids(az_a.app_dsn) == [1, 2]
    streaming = az_a.query("SELECT application_name, state FROM pg_stat_replication")
    assert streaming == [("az-b", "streaming")]
    insert(az_a.app_dsn, 3)
    stack.pg.wait_standby_caught_up()
    assert ids(az_b.app_dsn) == [1, 2, 3]


def test_restore_pitr_keeps_exactly_the_rows_committed_before_the_target(
    stack: LocalStack,
) -> None:
    dsn = stack.pg.node("az-a").app_dsn
    insert(dsn, 1)
    time.sleep(0.05)
    target = datetime.now(UTC)
    time.sleep(0.05)
    insert(dsn, 2)

    restored = stack.pg.restore_pitr(target, "pitr")
    try:
        assert ids(restored.app_dsn) == [1]
        assert not restored.is_in_recovery()
        assert restored.query("SHOW archive_mode") == [("off",)]
    finally:
        restored.destroy()
    assert ids(dsn) == [1, 2]


def pay(dsn: str, payment: str, user: str) -> None:
    """An order of `user` with its entitlement and subscription, as the service records one."""
    with psycopg.connect(dsn) as conn:
        conn.execute(
            "INSERT INTO subscriptions (user_id, plan) VALUES (%s, 'monthly')"
            " ON CONFLICT DO NOTHING",
            [user],
        )
        conn.execute(
            "INSERT INTO orders (payment_id, user_id, plan, amount_cents, paid_at, source)"
            " VALUES (%s, %s, 'monthly', 990, now(), 'callback')",
            [payment, user],
        )
        grant(conn, payment, user)


def grant(conn: psycopg.Connection, payment: str, user: str) -> None:
    conn.execute(
        "INSERT INTO entitlements (payment_id, user_id, plan, starts_at, ends_at)"
        " VALUES (%s, %s, 'monthly', now(), now() + interval '30 days')",
        [payment, user],
    )


def billing_rows(node: PgNode) -> tuple[list, list, list]:
    return (
        node.query("SELECT payment_id FROM orders ORDER BY 1", dbname=APP_DB),
        node.query("SELECT payment_id FROM entitlements ORDER BY 1", dbname=APP_DB),
        node.query("SELECT user_id FROM subscriptions ORDER BY 1", dbname=APP_DB),
    )


def test_keep_orders_copies_only_the_orders_the_copy_alone_recorded(stack: LocalStack) -> None:
    az_a = stack.pg.node("az-a")
    pay(az_a.app_dsn, "pay-both", "ann")
    copy = stack.pg.restore_pitr(datetime.now(UTC), "copy")
    try:
        pay(copy.app_dsn, "pay-copy", "bob")
        with psycopg.connect(copy.app_dsn) as conn:  # a second grant az-a must not take
            grant(conn, "pay-both", "ann")

        assert keep_orders(copy, az_a) == 1
        assert keep_orders(copy, az_a) == 0
    finally:
        copy.destroy()
    assert billing_rows(az_a) == (
        [("pay-both",), ("pay-copy",)],
        [("pay-both",), ("pay-copy",)],
        [("ann",), ("bob",)],
    )


def test_restore_pitr_refuses_a_naive_target_time(stack: LocalStack) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        stack.pg.restore_pitr(datetime.now(), "pitr")


def test_service_switches_database(stack: LocalStack) -> None:
    az_b = stack.pg.node("az-b")

    answer = stack.service.switch_database(az_b.app_dsn)

    assert str(az_b.proxy_port) in answer["database"]
    assert stack.service.database() == answer


def test_redis_with_a_bad_flag_is_not_ready_and_the_error_names_redis_and_log(
    run_dir: Path,
) -> None:
    log, port = run_dir / "redis.log", free_port()
    argv = ["redis-server", "--port", str(port), "--no-such-flag", "1"]
    process = ManagedProcess("redis", argv, log)
    process.start()

    with pytest.raises(ComponentNotReady) as caught:
        process.wait_ready(lambda: socket.create_connection(("127.0.0.1", port), 0.5), timeout_s=5)

    message = str(caught.value)
    assert message.startswith("redis did not become ready within 5 s")
    assert "process exited with code 1" in message
    assert f"see log {log}" in message
    assert "no-such-flag" in log.read_text()


def test_missing_binary_is_reported_with_component_and_log(run_dir: Path) -> None:
    process = ManagedProcess("toxiproxy", [str(run_dir / "no-such-binary")], run_dir / "t.log")

    with pytest.raises(ComponentNotReady, match=r"toxiproxy .*No such file.*see log .*t\.log"):
        process.start()


def test_wait_ready_gives_up_at_the_deadline_with_the_last_error(run_dir: Path) -> None:
    process = ManagedProcess("sleeper", ["sleep", "30"], run_dir / "sleeper.log")
    process.start()

    def never() -> None:
        raise ConnectionRefusedError("port 9 refused")

    started = time.monotonic()
    try:
        with pytest.raises(ComponentNotReady, match=r"within 0\.3 s \(last error: .*port 9"):
            process.wait_ready(never, timeout_s=0.3)
    finally:
        process.stop(timeout_s=2)
    assert time.monotonic() - started < 3
    assert not process.alive


def test_a_failing_start_stops_what_was_started(run_dir: Path) -> None:
    try:
        find_toxiproxy_server()
    except FileNotFoundError as exc:
        pytest.skip(str(exc))
    local = LocalStack(LocalSettings(redis_server=str(run_dir / "no-redis")), run_dir)

    with pytest.raises(ComponentNotReady, match="redis"):
        local.start()

    assert local.pids() == {}
    assert processes_under(run_dir) == []


def test_kubectl_reads_the_cluster_as_the_runbook_writes_it(stack: LocalStack) -> None:
    """Runbook 5.1's kubectl lines run as written against the embedded cluster, with a
    kubectl of the control plane's own version."""

    def kubectl(*args: str) -> str:
        argv = [stack.kube.kubectl, "--kubeconfig", str(stack.kube.kubeconfig), *args]
        return subprocess.run(argv, capture_output=True, text=True, timeout=30, check=True).stdout

    zone = "topology.kubernetes.io/zone=az-a"
    assert kubectl("get", "nodes", "-l", zone, "-o", "name").split() == ["node/node-az-a"]
    assert kubectl("get", "deploy", "-n", "prod", "-l", zone, "-o", "name").split() == [
        "deployment.apps/lookup-bff-az-a"
    ]
    versions = json.loads(kubectl("version", "-o", "json"))
    assert versions["clientVersion"]["gitVersion"] == "v1.34.12"
    assert versions["serverVersion"]["gitVersion"] == "v1.34.12"
