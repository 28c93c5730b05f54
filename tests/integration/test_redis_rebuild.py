"""The May drill's environment parts on the real local stack: Redis killed and restarted from
its AOF, wiped and restarted empty, its replica promoted and the service following it, and the
service's quota counters recomputed from PostgreSQL."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import httpx
import pytest

from drillbook.faults.heal import heal_redis
from drillbook.stack import LocalStack
from drillbook.stack.postgres import APP_DB

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

    unreachable = healed.service.replicas[0]._call
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
