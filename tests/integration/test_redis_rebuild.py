"""The May drill's environment parts on the real local stack: Redis killed and restarted from
its AOF, wiped and restarted empty, its replica promoted and the service following it, the
service's quota counters recomputed from PostgreSQL, and the cache's hit rate as the plan's
Redis signal sees it."""

from __future__ import annotations

import itertools
import time
import uuid
from collections.abc import Iterator

import httpx
import pytest

from drillbook.checks import hit_rates, signal_raised
from drillbook.environments.local.heal import heal_redis
from drillbook.glancy import GlancyClient
from drillbook.redis_snapshot import snapshot_and_load
from drillbook.stack import LocalStack
from drillbook.stack.postgres import APP_DB
from drillbook.workload import History, HttpProbe, RedisStatsSampler

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]


@pytest.fixture
def healed(stack: LocalStack) -> Iterator[LocalStack]:
    """The stack, with the Redis topology restored after the test whatever it broke."""
    yield stack
    heal_redis(stack)


@pytest.fixture
def service(stack: LocalStack) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=stack.service.url, timeout=10.0) as client:
        yield client


def test_kill9_and_restart_from_the_aof_keeps_acknowledged_keys(healed: LocalStack) -> None:
    primary, replica = healed.redis.nodes
    with primary.client() as client:
        for n in range(200):
            client.set(f"test:aof:{n}", n)

    primary.kill9()
    took = primary.start()

    with primary.client() as client:
        assert client.exists(*[f"test:aof:{n}" for n in range(200)]) == 200
    assert took < 10
    replica.wait_synced(primary)
    commands = [r.command for r in healed.commands.since(0)]
    assert any(c.startswith("kill -9") and c.endswith("# redis") for c in commands)


def test_a_wiped_primary_restarts_empty_and_its_replica_follows_it(healed: LocalStack) -> None:
    primary, replica = healed.redis.nodes
    with primary.client() as client:
        client.set("test:wiped", 1)
    with pytest.raises(RuntimeError, match="stop it before deleting"):
        primary.wipe()

    primary.kill9()
    primary.wipe()
    primary.start()
    replica.wait_synced(primary)

    for node in (primary, replica):  # the service may write again at once: look for the key
        with node.client() as client:
            assert client.exists("test:wiped") == 0, node.name


def test_promoted_replica_serves_the_service_then_the_topology_is_restored(
    healed: LocalStack, service: httpx.Client
) -> None:
    primary, replica = healed.redis.nodes
    word = f"promoted-{uuid.uuid4().hex[:6]}"
    healed.toxiproxy.update_proxy("redis", enabled=False)
    replica.promote()
    assert replica.role() == "master"

    unreachable = GlancyClient(healed.service.admin_urls()[0]).call
    with pytest.raises(RuntimeError, match="503"):
        unreachable("PUT", "/admin/redis", {"url": primary.url})
    answer = healed.service.switch_redis(replica.url)
    assert answer == {"redis": f"127.0.0.1:{replica.proxy_port}/0"}
    sources = [service.get("/lookup", params={"word": word, "user": "t"}).json() for _ in "ab"]
    assert [s["source"] for s in sources] == ["db", "cache"]

    heal_redis(healed)

    assert primary.role() == "master" and replica.follows(primary)
    assert healed.service.redis() == {"redis": f"127.0.0.1:{primary.proxy_port}/0"}
    with primary.client() as client:  # what the promoted replica took was kept
        assert client.exists(f"glancy:result:{word}") == 1


def test_quota_is_enforced_recomputed_and_counted_in_postgresql_without_redis(
    healed: LocalStack, service: httpx.Client
) -> None:
    full, light = (f"q-{uuid.uuid4().hex[:6]}" for _ in "ab")
    for user in (full, light):
        healed.pg.primary.query(
            "INSERT INTO profiles (user_id, daily_lookups) VALUES (%s, 3)", [user], dbname=APP_DB
        )

    answers = [service.get("/lookup", params={"word": "w", "user": full}) for _ in range(4)]
    service.get("/lookup", params={"word": "w", "user": light}).raise_for_status()

    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert answers[-1].json()["error"] == "quota_exceeded"
    state = service.get("/admin/quota", params={"user": full}).json()
    assert (state["limit"], state["counter"]) == (3, 3)

    with healed.redis.primary.client() as client:
        client.flushall()
    assert service.get("/admin/quota", params={"user": full}).json()["counter"] is None
    recomputed = service.post("/admin/quota/recompute").json()
    assert recomputed["users"] >= 2
    assert service.get("/admin/quota", params={"user": full}).json()["counter"] == 3
    assert service.get("/admin/quota", params={"user": light}).json()["counter"] == 1

    healed.toxiproxy.update_proxy("redis", enabled=False)
    # Redis unreachable: the quota is counted in PostgreSQL, neither open nor closed
    assert service.get("/lookup", params={"word": "w", "user": full}).status_code == 429
    assert service.get("/lookup", params={"word": "w", "user": light}).status_code == 200


def hit_rate_after(history: History, after: float, done, timeout_s: float, what: str) -> list:
    """The known hit rates sampled after `after`, once `done(rates)` holds (to a deadline)."""
    deadline = time.monotonic() + timeout_s
    while True:
        rates = [p.rate for p in hit_rates(history) if p.at > after and p.rate is not None]
        if rates and done(rates):
            return rates
        assert time.monotonic() < deadline, f"{what} not within {timeout_s} s: {rates}"
        time.sleep(0.2)


def test_a_cold_cache_raises_the_signal_by_its_hit_rate_while_redis_answers(
    healed: LocalStack,
) -> None:
    """Redis emptied (FLUSHALL) under lookups: the cache's hit rate falls below 20% although
    the node answers throughout, so the hit-rate half of the plan's signal fires."""
    history = History()
    words = itertools.cycle([f"cold-{uuid.uuid4().hex[:6]}-{n:03d}" for n in range(100)])
    user = f"cold-{uuid.uuid4().hex[:6]}"
    probe = HttpProbe(
        history,
        healed.service.url,
        "/lookup",
        interval_s=0.02,
        timeout_s=2.0,
        params=lambda: {"word": next(words), "user": user},
    )
    sampler = RedisStatsSampler(
        history,
        lambda: healed.service.cache_stats(1.0),
        lambda: healed.redis.primary.url,
        "service",
        interval_s=0.2,
    )
    probe.start()
    sampler.start()
    try:
        warm = hit_rate_after(history, 0, lambda r: r[-1] >= 0.9, 30, "a warm cache")
        flushed_at = time.time()
        with healed.redis.primary.client() as client:
            client.flushall()
        cold = hit_rate_after(history, flushed_at, lambda r: min(r) < 0.2, 15, "a cold cache")
        # and it warms again as the words come round
        hit_rate_after(history, flushed_at, lambda r: r[-1] >= 0.9, 30, "warm again")
    finally:
        probe.stop()
        sampler.stop()

    after = [op for op in history.ops(prefix="redis-stats:") if op.start >= flushed_at]
    assert after and all(op.outcome == "ok" for op in after), "Redis stopped answering"
    assert all(op.value["cache_hits"] is not None for op in after), "no cache stats"
    result = signal_raised(history, flushed_at, time.time(), 5)
    assert result.passed, result.explanation
    assert result.details["halves"] == ["hit rate low"], result.explanation
    print(f"warm {warm[-1]:.0%}, cold {min(cold):.0%}: {result.explanation}")


def test_cache_stats_sum_the_replicas_and_start_again_when_one_restarts(
    stack: LocalStack, service: httpx.Client
) -> None:
    word = f"sum-{uuid.uuid4().hex[:6]}"
    for _ in range(4):  # the router spreads them over both replicas
        service.get("/lookup", params={"word": word, "user": "t"}).raise_for_status()
    stats = stack.service.cache_stats()
    replicas = stats["replicas"]
    assert len(replicas) == stack.service.expected_replicas == 2
    for key in ("hits", "misses", "unavailable"):
        assert stats[key] == sum(r[key] for r in replicas)
    assert stats["since"] == max(r["since"] for r in replicas)
    assert stats["hits"] + stats["misses"] >= 4

    cluster = stack.kube.cluster
    cluster.restart("prod", ["lookup-bff-az-a"])
    cluster.wait_rollout("prod", "lookup-bff-az-a", 60)
    stack.service.wait_ready()

    again = stack.service.cache_stats()
    assert again["since"] > stats["since"]
    assert min(r["hits"] + r["misses"] for r in again["replicas"]) == 0


def test_an_rdb_snapshot_of_the_primary_loads_with_its_keys(stack: LocalStack, tmp_path) -> None:
    primary = stack.redis.nodes[0]
    with primary.client() as client:
        client.set(f"snapshot-{uuid.uuid4().hex}", "1")
        keys = client.dbsize()
    snapshot = snapshot_and_load("primary", primary.url, tmp_path, 30.0)
    assert snapshot.problem is None and snapshot.size > 0
    assert snapshot.keys is not None and snapshot.keys >= keys - 5  # a few may expire meanwhile
    assert primary.password not in str(snapshot)
    assert list(tmp_path.iterdir()) == []  # the cache's data is not kept


def test_a_snapshot_that_cannot_be_taken_says_why(tmp_path) -> None:
    snapshot = snapshot_and_load("primary", "redis://127.0.0.1:9/0", tmp_path, 5.0)
    assert snapshot.keys is None and snapshot.problem.startswith("redis-cli --rdb failed")
    tls = snapshot_and_load("primary", "rediss://127.0.0.1:9/0", tmp_path, 5.0)
    assert tls.problem == "rediss:// is not supported: the snapshot is taken over plain redis://"
