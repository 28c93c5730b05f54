"""The reference service against real PostgreSQL 15 and Redis processes it can lose."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, suppress
from dataclasses import dataclass
from pathlib import Path

import httpx
import psycopg
import pytest
import redis

from tests.integration.conftest import exposed

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]

REPO = Path(__file__).resolve().parents[2]
PG_BIN = Path("/usr/lib/postgresql/15/bin")
SECRET = "s3cret-pw"  # trust auth ignores it; it must never come back from the service
CALLBACK_SECRET = "callback-secret"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(what: str, probe: Callable[[], object], timeout_s: float = 30.0) -> None:
    deadline, last = time.monotonic() + timeout_s, None
    while time.monotonic() < deadline:
        try:
            probe()
            return
        except Exception as exc:
            last = exc
            time.sleep(0.1)
    raise AssertionError(f"{what} not ready within {timeout_s} s (last error: {last!r})")


def spawn(stack: ExitStack, args: list, log: Path, **kwargs) -> subprocess.Popen:
    """Start a process that the stack stops (TERM, then KILL) however the tests end."""
    with log.open("ab") as out:
        proc = subprocess.Popen([str(a) for a in args], stdout=out, stderr=out, **kwargs)

    def stop() -> None:
        if proc.poll() is not None:
            return
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)

    stack.callback(stop)
    return proc


@dataclass
class Postgres:
    data: Path
    port: int
    runuser: subprocess.Popen | None = None

    @property
    def dsn(self) -> str:
        return f"postgresql://postgres:{SECRET}@127.0.0.1:{self.port}/glancy"

    def signal(self, sig: int, *, backends: bool = False) -> None:
        """Signal the postmaster (it runs as postgres under runuser), and its children."""
        with suppress(FileNotFoundError, ProcessLookupError):
            pid = int((self.data / "postmaster.pid").read_text().split()[0])
            children = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True)
            for target in [pid, *map(int, children.stdout.split() if backends else [])]:
                os.kill(target, sig)

    def stop(self) -> None:
        """Fast shutdown; runuser exits with postgres (SIGCONT: it stops itself with its child)."""
        self.signal(signal.SIGINT)
        self.runuser.send_signal(signal.SIGCONT)
        with suppress(subprocess.TimeoutExpired):
            self.runuser.wait(10)


def start_postgres(stack: ExitStack, run_dir: Path, name: str) -> Postgres:
    pg = Postgres(run_dir / name, free_port())
    pg.data.mkdir()
    shutil.chown(pg.data, "postgres", "postgres")
    as_postgres = ["runuser", "-u", "postgres", "--"]
    initdb = [*as_postgres, PG_BIN / "initdb", "-D", pg.data, "-A", "trust", "-U", "postgres"]
    subprocess.run([str(a) for a in initdb], check=True, capture_output=True, timeout=60)
    server = [PG_BIN / "postgres", "-D", pg.data, "-p", pg.port, "-c", "listen_addresses=127.0.0.1"]
    log = run_dir / f"{name}.log"
    pg.runuser = spawn(stack, [*as_postgres, *server, "-c", "unix_socket_directories="], log)
    stack.callback(pg.stop)  # runs before spawn's fallback TERM/KILL of runuser
    admin = f"host=127.0.0.1 port={pg.port} user=postgres dbname=postgres connect_timeout=2"
    wait_until(f"postgres {name}", lambda: psycopg.connect(admin).close())
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute("CREATE DATABASE glancy")
    with psycopg.connect(pg.dsn) as conn:
        conn.execute((REPO / "reference" / "schema.sql").read_text())
    return pg


@dataclass
class Env:
    pg_a: Postgres
    pg_b: Postgres
    redis: subprocess.Popen
    url: str
    log: Path


@pytest.fixture(scope="module")
def env() -> Iterator[Env]:
    with ExitStack() as stack:
        run_dir = Path(tempfile.mkdtemp(prefix="drillbook-"))
        run_dir.chmod(0o755)
        stack.callback(shutil.rmtree, run_dir, ignore_errors=True)
        pg_a, pg_b = (start_postgres(stack, run_dir, name) for name in ("az-a", "az-b"))
        redis_port, port, payments_port = free_port(), free_port(), free_port()
        redis_args = ["--port", redis_port, "--bind", "127.0.0.1", "--save", "", "--dir", run_dir]
        redis_proc = spawn(
            stack,
            ["/usr/bin/redis-server", *redis_args, "--appendonly", "no"],
            run_dir / "redis.log",
        )
        wait_until("redis", redis.Redis(port=redis_port, socket_timeout=1).ping)
        config = {
            "host": "127.0.0.1",
            "port": port,
            "database": {
                "dsn": pg_a.dsn,
                "pool_timeout_s": 1.0,
                "connect_timeout_s": 1,
                "statement_timeout_ms": 2000,
            },
            "redis": {"url": f"redis://127.0.0.1:{redis_port}/0", "socket_timeout_s": 0.5},
            "billing": {
                "provider_url": f"http://127.0.0.1:{payments_port}",
                "callback_secret": CALLBACK_SECRET,
            },
        }
        (run_dir / "cfg.json").write_text(json.dumps(config))
        log = run_dir / "service.log"
        service = spawn(
            stack,
            [sys.executable, "-m", "reference", "--config", run_dir / "cfg.json"],
            log,
            cwd=REPO,
        )
        url = f"http://127.0.0.1:{port}"
        provider = [sys.executable, "-m", "reference.payment_standin", "--port", payments_port]
        spawn(
            stack,
            [*provider, "--callback", f"{url}/billing/callback"],
            run_dir / "payments.log",
            cwd=REPO,
            env={**os.environ, "PAYMENT_CALLBACK_SECRET": CALLBACK_SECRET},
        )
        wait_until(
            "payment stand-in", lambda: httpx.get(f"http://127.0.0.1:{payments_port}/healthz")
        )

        def healthy() -> None:
            assert service.poll() is None, f"service exited: {log.read_text()[-2000:]}"
            httpx.get(f"{url}/healthz").raise_for_status()

        wait_until("reference service", healthy)
        yield Env(pg_a, pg_b, redis_proc, url, log)


@pytest.fixture(scope="module")
def client(env: Env) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=env.url, timeout=10.0) as http:
        yield http


def new_user() -> str:
    return f"u-{uuid.uuid4().hex[:8]}"


def timed(call: Callable[[], httpx.Response]) -> tuple[httpx.Response, float]:
    start = time.monotonic()
    response = call()
    return response, time.monotonic() - start


def lookup(client: httpx.Client, word: str, user: str) -> httpx.Response:
    return client.get("/lookup", params={"word": word, "user": user})


def test_second_lookup_is_served_from_cache(client: httpx.Client) -> None:
    user = new_user()
    word = f"word-{user}"
    first, second = lookup(client, word, user), lookup(client, word, user)
    expected = {
        "word": word,
        "definition": f"basic definition of {word}",
        "example": f"template example for {word}",
    }
    assert (first.status_code, first.json()) == (200, {**expected, "source": "db"})
    assert (second.status_code, second.json()) == (200, {**expected, "source": "cache"})


def test_cache_stats_count_the_cache_reads_and_not_the_quota_reads(
    env: Env, client: httpx.Client
) -> None:
    user = new_user()
    words = [f"stats-{user}-{n}" for n in range(3)]
    info = redis.Redis(port=_redis_port(env))
    keyspace_before, before = info.info("stats"), client.get("/admin/cache/stats").json()
    for word in words * 2:
        assert lookup(client, word, user).status_code == 200
    keyspace_after, after = info.info("stats"), client.get("/admin/cache/stats").json()

    assert {key: after[key] - before[key] for key in ("hits", "misses", "unavailable")} == {
        "hits": 3,
        "misses": 3,
        "unavailable": 0,
    }
    assert after["since"] == before["since"] <= time.time()
    assert after["redis"] == {"address": f"127.0.0.1:{_redis_port(env)}/0", "available": True}
    # Redis itself also counted the quota counter's reads, one or more per lookup
    keyspace_reads = sum(
        keyspace_after[key] - keyspace_before[key] for key in ("keyspace_hits", "keyspace_misses")
    )
    assert keyspace_reads >= 2 * len(words * 2)

    env.redis.send_signal(signal.SIGSTOP)
    try:
        assert lookup(client, words[0], user).json()["source"] == "db"
    finally:
        env.redis.send_signal(signal.SIGCONT)
    stalled = client.get("/admin/cache/stats").json()
    assert (stalled["hits"], stalled["misses"]) == (after["hits"], after["misses"])
    assert stalled["unavailable"] == after["unavailable"] + 1
    assert stalled["redis"]["available"] is False  # skipped for a while after the failure
    wait_until(
        "the cache answering again",
        lambda: assert_source(lookup(client, words[0], user), "cache"),
        timeout_s=5,
    )


def assert_source(response: httpx.Response, source: str) -> None:
    assert response.json()["source"] == source, response.text


def test_history_lists_lookups_newest_first(client: httpx.Client) -> None:
    user = new_user()
    for word in ("alpha", "beta", "gamma"):
        assert lookup(client, word, user).status_code == 200
    items = client.get("/history", params={"user": user}).json()["items"]
    assert [item["word"] for item in items] == ["gamma", "beta", "alpha"]
    limited = client.get("/history", params={"user": user, "limit": 2}).json()
    assert (limited["user"], len(limited["items"])) == (user, 2)


def test_deletion_is_queued_and_replay_deletes_restored_lookups(
    env: Env, client: httpx.Client
) -> None:
    user = new_user()
    before = time.time()
    for word in ("one", "two"):
        lookup(client, word, user)
    deleted = client.delete("/history", params={"user": user})
    assert deleted.status_code == 200 and deleted.json()["deleted"] == 2
    assert redis.Redis(port=_redis_port(env)).xlen("glancy:deletions") >= 1
    # a restore from backup brings the deleted lookups back; a later lookup must survive replay
    with psycopg.connect(env.pg_a.dsn) as conn:
        conn.execute(
            "INSERT INTO lookups (user_id, word, looked_up_at)"
            " VALUES (%s, 'one', now() - interval '1 minute')",
            (user,),
        )
    lookup(client, "after", user)
    replay = client.post("/admin/deletions/replay", json={"since": before})
    assert replay.status_code == 200
    assert user in replay.json()["users"] and replay.json()["deleted"] >= 1
    items = client.get("/history", params={"user": user}).json()["items"]
    assert [item["word"] for item in items] == ["after"]
    later = client.post("/admin/deletions/replay", json={"since": time.time() + 60}).json()
    assert (later["replayed"], later["users"]) == (0, [])


def _redis_port(env: Env) -> int:
    args = env.redis.args
    return int(args[args.index("--port") + 1])


def test_stalled_redis_falls_back_to_db_and_refuses_deletions(
    env: Env, client: httpx.Client
) -> None:
    user = new_user()
    env.redis.send_signal(signal.SIGSTOP)
    try:
        response, elapsed = timed(lambda: lookup(client, f"stall-{user}", user))
        assert (response.status_code, response.json()["source"]) == (200, "db")
        assert elapsed < 1.5
        refused = client.delete("/history", params={"user": user})
        assert (refused.status_code, refused.json()["error"]) == (503, "redis_unavailable")
    finally:
        env.redis.send_signal(signal.SIGCONT)
    # the deletion was not accepted, so the lookup is still there
    assert len(client.get("/history", params={"user": user}).json()["items"]) == 1


def test_admin_database_rejects_bad_and_unreachable_targets(env: Env, client: httpx.Client) -> None:
    current = {"database": f"127.0.0.1:{env.pg_a.port}/glancy"}
    assert client.get("/admin/database").json() == current
    missing = client.put("/admin/database", json={"dns": env.pg_a.dsn})
    assert missing.status_code == 422 and SECRET not in missing.text
    nowhere = f"postgresql://postgres:{SECRET}@127.0.0.1:{free_port()}/glancy"
    refused, elapsed = timed(lambda: client.put("/admin/database", json={"dsn": nowhere}))
    assert (refused.status_code, refused.json()["error"]) == (503, "database_unavailable")
    assert "not reachable" in refused.json()["detail"] and SECRET not in refused.text
    assert elapsed < 5.0
    assert client.get("/admin/database").json() == current
    assert lookup(client, "still", new_user()).status_code == 200


def test_killed_database_fails_fast_and_switch_recovers(env: Env, client: httpx.Client) -> None:
    user = new_user()
    assert lookup(client, "warm", user).status_code == 200
    # the whole server dies, as in a crash: a backend outliving its postmaster can still answer
    # a pooled connection for a moment, which made the first lookup succeed under load
    env.pg_a.signal(signal.SIGKILL, backends=True)
    for i in range(5):
        response, elapsed = timed(lambda i=i: lookup(client, f"down-{i}", user))
        assert (response.status_code, response.json()["error"]) == (503, "database_unavailable")
        assert elapsed < 2.0, f"503 took {elapsed:.2f} s"
        assert SECRET not in response.text
    switched = client.put("/admin/database", json={"dsn": env.pg_b.dsn})
    assert switched.json() == {"database": f"127.0.0.1:{env.pg_b.port}/glancy"}
    response, elapsed = timed(lambda: lookup(client, "back", user))
    assert response.status_code == 200 and elapsed < 1.0
    assert [i["word"] for i in client.get("/history", params={"user": user}).json()["items"]] == [
        "back"
    ]
    assert SECRET not in env.log.read_text()


def test_hung_database_answers_503_at_the_request_deadline(env: Env, client: httpx.Client) -> None:
    assert client.get("/admin/database").json()["database"].endswith(f":{env.pg_b.port}/glancy")
    env.pg_b.signal(signal.SIGSTOP, backends=True)
    try:
        response, elapsed = timed(lambda: lookup(client, "hung", new_user()))
    finally:
        env.pg_b.signal(signal.SIGCONT, backends=True)
    assert (response.status_code, response.json()["error"]) == (503, "database_unavailable")
    assert elapsed < 3.5, f"deadline is pool wait 1 s + statement timeout 2 s, took {elapsed:.2f}"
    wait_until(
        "lookups after the database resumes",
        lambda: lookup(client, "resumed", new_user()).raise_for_status(),
        timeout_s=5,
    )


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"redis": {"url": "redis://127.0.0.1:1/0"}, "database": {}}, "'database.dsn' is missing"),
        (
            {"port": "80", "redis": {"url": "redis://x"}, "database": {"dsn": "host=x"}},
            "'port' must be of type int",
        ),
    ],
)
def test_bad_config_file_names_file_and_key(tmp_path: Path, config: dict, message: str) -> None:
    path = tmp_path / "cfg.json"
    path.write_text(json.dumps(config))
    run = subprocess.run(
        [sys.executable, "-m", "reference", "--config", str(path)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert run.returncode == 2
    assert f"config {path}: key {message}" in run.stderr


def in_use(env: Env, client: httpx.Client) -> Postgres:
    """The server the service uses now (a test before may have switched it to az-b)."""
    database = client.get("/admin/database").json()["database"]
    return next(pg for pg in (env.pg_a, env.pg_b) if f":{pg.port}/" in database)


def entitlements_of(env: Env, client: httpx.Client, payment_id: str) -> int:
    with psycopg.connect(in_use(env, client).dsn) as conn:
        [(count,)] = conn.execute(
            "SELECT count(*) FROM entitlements WHERE payment_id = %s", (payment_id,)
        ).fetchall()
    return count


def checkout(client: httpx.Client, user: str, trace: str | None = None) -> dict:
    headers = {"traceparent": f"00-{trace}-00f067aa0ba902b7-01"} if trace else {}
    response = client.post(
        "/billing/checkout", json={"user": user, "plan": "monthly"}, headers=headers
    )
    assert response.status_code == 201, response.text
    return response.json()


def test_a_checkout_is_recorded_by_the_providers_callback_with_one_entitlement(
    env: Env, client: httpx.Client
) -> None:
    paid = checkout(client, new_user())["payment_id"]
    wait_until("the order's entitlement", lambda: entitlements_of(env, client, paid) or 1 / 0)
    assert entitlements_of(env, client, paid) == 1


def test_a_callback_delivered_again_grants_nothing_more(env: Env, client: httpx.Client) -> None:
    from reference.billing import SIGNATURE, signature

    payment = {"id": "pay_again", "user": new_user(), "plan": "yearly", "amount_cents": 16800}
    body = json.dumps(payment | {"paid_at": time.time()}).encode()
    headers = {SIGNATURE: signature(CALLBACK_SECRET, body)}
    answers = [
        client.post("/billing/callback", content=body, headers=headers).json() for _ in range(2)
    ]
    assert [a["recorded"] for a in answers] == [True, False]
    assert entitlements_of(env, client, "pay_again") == 1


def test_a_callback_with_a_bad_signature_is_refused(client: httpx.Client) -> None:
    body = json.dumps({"id": "pay_forged", "user": "u", "plan": "monthly"}).encode()
    response = client.post("/billing/callback", content=body, headers={"X-Payment-Signature": "0"})
    assert (response.status_code, response.json()["error"]) == (401, "bad_signature")


def test_reconciliation_records_the_orders_a_restore_lost_and_grants_each_once(
    env: Env, client: httpx.Client
) -> None:
    trace = "5b8aa5a2d2c872e8321cf37308d69df2"
    paid = [checkout(client, new_user(), trace)["payment_id"]]
    paid += [checkout(client, new_user())["payment_id"] for _ in range(2)]
    for payment_id in paid:
        wait_until("entitlement", lambda p=payment_id: entitlements_of(env, client, p) or 1 / 0)
    lost = paid[0]
    with psycopg.connect(in_use(env, client).dsn) as conn:  # as if restored to before it was paid
        conn.execute("DELETE FROM entitlements WHERE payment_id = %s", (lost,))
        conn.execute("DELETE FROM orders WHERE payment_id = %s", (lost,))
    report = client.post("/admin/billing/reconcile", json={"repair": False}).json()
    assert lost in report["missing_orders"] and lost not in report["repaired"]
    # the page names the checkout that paid it, which the provider kept with the payment
    [newest] = exposed(client, "glancy_billing_newest_unresolved_paid_timestamp_seconds")
    assert f'trace_id="{trace}"' in newest
    report = client.post("/admin/billing/reconcile", json={}).json()
    assert lost in report["repaired"]
    assert exposed(client, "glancy_billing_newest_unresolved_paid_timestamp_seconds") == []
    again = client.post("/admin/billing/reconcile", json={}).json()
    assert (again["missing_orders"], again["repaired"]) == ([], [])
    assert [entitlements_of(env, client, p) for p in paid] == [1, 1, 1]


def test_metrics_count_requests_by_route_and_answer_the_callers_trace_id(
    client: httpx.Client,
) -> None:
    trace = "4bf92f3577b34da6a3ce929d0e0e4736"
    answer = client.get(
        "/lookup",
        params={"word": "metered", "user": new_user()},
        headers={"traceparent": f"00-{trace}-00f067aa0ba902b7-01"},
    )
    assert answer.headers["X-Trace-Id"] == trace
    assert client.get("/exports/no-such-task").status_code == 404
    metrics = client.get("/metrics").text
    assert 'glancy_http_requests_total{endpoint="/lookup",method="GET",status="200"}' in metrics
    assert 'endpoint="/exports/{task_id}"' in metrics  # the route, not the raw path
    assert "no-such-task" not in metrics and "glancy_cache_reads_total" in metrics
