"""Redis (plan 4.1, May): the primary killed and restarted from its AOF, rebuilt from nothing
with the quota compensated from PostgreSQL, or cut off while its replica is promoted; the hit
rate and the plan's Redis signal (section 2) sampled throughout.

The Redis writer and the hit-rate sampler use the node the service uses (`CacheInUse`): the
primary until the service is pointed at the replica, which they then follow."""

from __future__ import annotations

import itertools
import secrets
import tempfile
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import ClassVar

from pytest_bdd import given, parsers, then, when

from drillbook.bdd import performs, reverts
from drillbook.capabilities import Cache, Service
from drillbook.capabilities.cache import MEMORY_TARGET
from drillbook.capabilities.service import FORCE_L2
from drillbook.checks import (
    QuotaSample,
    accepting_again,
    came_back_empty,
    hit_rate_recovery,
    hit_rates,
    quota_consistency,
    rpo,
    signal_raised,
)
from drillbook.checks.cache_tiers import l1_answers_after
from drillbook.checks.duration import to_seconds
from drillbook.checks.rdb import rdb_loads
from drillbook.conditions import Poll, condition
from drillbook.drill import Drill, DrillError, MissingStep
from drillbook.profile import Profile
from drillbook.redis_snapshot import snapshot_and_load
from drillbook.spot_check import rdb_spot_check as rdb_spot_check_line
from drillbook.workload import HttpProbe, RedisStatsSampler, RedisWriter, answer_flags
from steps import CacheInUse, cache_in_use, client_timeout, probe_user
from steps.llm import LOOKUPS
from steps.traffic import SEED_WORDS

# The Redis node the service uses when nothing has moved it.
PRIMARY = "primary"
# Lost Redis keys read as the span of writes they were acknowledged in.
SECONDS_OF_WRITES = "s of writes"
# The limit on taking a snapshot, and on reading it: under a second for the drill's own cache,
# minutes for a large one.
RDB_S = 300.0


@dataclass(frozen=True)
class RedisWrites:
    """The Redis writer of the drill: its key prefix says which keys are its own."""

    PROVIDED_BY: ClassVar[str] = "Given a Redis writer acknowledges numbered keys every N ms"
    writer: RedisWriter


@dataclass(frozen=True)
class RedisSurvivors:
    """Numbers of the writer's keys present after recovery on the node the service uses,
    read once so every check sees the same."""

    PROVIDED_BY: ClassVar[str] = "Given a Redis writer acknowledges numbered keys every N ms"
    node: str
    ids: frozenset[int]


@dataclass(frozen=True)
class QuotaUsers:
    PROVIDED_BY: ClassVar[str] = (
        "Given N users with a daily quota of M lookups look up words through the service"
    )
    users: tuple[str, ...]


@given(parsers.parse("lookups cycle through {words:d} words every {interval:d} ms"))
def lookups_cycle(
    drill: Drill, service: Service, dr_profile: Profile, words: int, interval: int
) -> None:
    """The steady lookup workload whose cache reads make the hit rate: each word is a miss
    until it is cached, then a hit until its entry expires or Redis loses it."""
    vocabulary = itertools.cycle([f"word-{n:04d}" for n in range(1, words + 1)])
    probe = HttpProbe(
        drill.history,
        service.url,
        "/lookup",
        interval_s=interval / 1000,
        timeout_s=client_timeout(dr_profile),
        params=lambda: {"word": next(vocabulary), "user": probe_user(drill)},
        record=answer_flags,
    )
    drill.run_client(probe)


@given(parsers.parse("a Redis writer acknowledges numbered keys every {interval:d} ms"))
def redis_writer(drill: Drill, cache: Cache, dr_profile: Profile, interval: int) -> None:
    cache_in_use(drill)
    writer = RedisWriter(
        drill.history,
        lambda: cache.url(drill.recall(CacheInUse).node),
        interval_s=interval / 1000,
        timeout_s=client_timeout(dr_profile),
    )
    drill.remember(RedisWrites(writer))
    drill.run_client(writer)


@given(parsers.parse("the Redis hit rate is sampled every {interval:d} ms"))
def hit_rate_sampled(
    drill: Drill, service: Service, cache: Cache, dr_profile: Profile, interval: int
) -> None:
    cache_in_use(drill)
    sampler = RedisStatsSampler(
        drill.history,
        service.cache_stats,
        lambda: cache.url(drill.recall(CacheInUse).node),
        "service",
        interval_s=interval / 1000,
        timeout_s=client_timeout(dr_profile),
    )
    drill.run_client(sampler)


@given(
    parsers.parse(
        "{users:d} users with a daily quota of {limit:d} lookups look up words through the service"
    )
)
def quota_users(drill: Drill, service: Service, users: int, limit: int) -> None:
    """User n of N tries 2·limit·n/N lookups: the first half stay below the limit, the others
    reach it and are refused beyond it, which the service must already do before any fault."""
    names = [f"quota-{secrets.token_hex(3)}-{n:02d}" for n in range(1, users + 1)]
    service.add_users(names, limit)
    tried, served = {}, {}
    for n, user in enumerate(names, 1):
        tried[user] = round(2 * limit * n / users)
        words = itertools.islice(itertools.cycle(SEED_WORDS), tried[user])
        statuses = [service.lookup(word, user)[0] for word in words]
        served[user] = statuses.count(200)
    drill.remember(QuotaUsers(tuple(names)))
    drill.evidence.attach_json(
        f"quota users (daily quota {limit})",
        {user: {"tried": tried[user], "served": served[user]} for user in names},
    )
    wrong = {
        user: f"{served[user]} of {tried[user]} served"
        for user in names
        if served[user] != min(tried[user], limit)
    }
    if wrong:
        raise DrillError(f"the quota of {limit} was not enforced before the fault: {wrong}")


@when("the Redis primary is killed with SIGKILL")
@performs("cache.kill_primary")
def kill_primary(drill: Drill, cache: Cache) -> None:
    pid = drill.apply(cache.kill_primary())
    drill.evidence.attach_text(f"kill -9 {pid} (redis primary)", f"killed pid {pid}")


@when("the AOF and RDB files of the Redis primary are deleted")
@performs("cache.wipe_primary")
def delete_persistence(drill: Drill, cache: Cache) -> None:
    """What a lost disk does: the restarted primary starts empty, and its replica resyncs
    from it, so both lose everything."""
    drill.apply(cache.wipe_primary())


@when("the Redis primary runs out of memory")
@performs("cache.exhaust_memory")
def out_of_memory(drill: Drill, cache: Cache) -> None:
    """A node resized below its data: what expires is evicted, every write refused (OOM),
    reads answered; the cache's hit rate falls while the node answers."""
    drill.apply(cache.exhaust_memory())


@when("the memory of the Redis primary is restored")
@reverts("cache.exhaust_memory")
def memory_restored(drill: Drill) -> None:
    drill.restore(MEMORY_TARGET)


@when("the Redis primary is restarted")
@performs("cache.restart_primary")
def restart_primary(drill: Drill, cache: Cache) -> None:
    """From whatever its data directory holds: the AOF, or nothing. Waits (to the node's
    deadline) until it has loaded it."""
    took = drill.apply(cache.restart_primary())
    drill.evidence.attach_text(
        "redis primary restarted", f"accepting commands {took:.3f} s after it was started"
    )


@when("the Redis replica is promoted")
@performs("cache.promote_replica")
def promote_replica(drill: Drill, cache: Cache) -> None:
    drill.apply(cache.promote_replica())
    drill.evidence.attach_json(
        "redis replica: INFO replication", cache.info("replica", "replication")
    )


@when("the service is pointed at the Redis replica")
@performs("service.point_cache", node="replica")
def point_at_replica(drill: Drill, service: Service) -> None:
    answer = drill.apply(service.point_cache("replica"))
    drill.remember(CacheInUse("replica"))
    drill.evidence.attach_json("service redis endpoint", answer)


@when("forced L2 is enabled")
@performs("service.force_l2")
def force_l2(drill: Drill, service: Service) -> None:
    """Runbook 5.1 step 3, 完成后启用强制 L2: the replicas read Redis alone from now on."""
    drill.evidence.attach_json("PUT /admin/cache/mode", drill.apply(service.force_l2()))


@then("no lookup was answered from L1 after forced L2 was enabled")
def no_l1_answer(drill: Drill) -> None:
    forced = drill.remediations(FORCE_L2)
    if not forced:
        raise MissingStep("no L2 was forced: add 'When forced L2 is enabled' before this step")
    drill.verdict(l1_answers_after(drill.history, LOOKUPS, forced[-1].end))


@when("the quota compensation job runs")
@performs("service.recompute_quota")
def compensation_job(drill: Drill, service: Service) -> None:
    drill.evidence.attach_json(
        "POST /admin/quota/recompute", drill.apply(service.recompute_quota())
    )


@condition("the Redis hit rate is at least {pct:g}%")
def hit_rate_at_least(drill: Drill, pct: float) -> Poll:
    """The last sample that says something (unreachable, or enough reads) meets the target;
    after a fault, its time is the drill's recovery."""

    def poll() -> tuple[bool, str]:
        if drill.workload is None or not drill.workload.running:
            return False, "the workload has stopped, so no new sample can come"
        known = [p for p in hit_rates(drill.history) if not p.reachable or p.rate is not None]
        if not known:
            return False, "no hit rate sampled yet"
        last = known[-1]
        done = last.reachable and last.rate >= pct / 100
        if done:
            drill.recovered(last.at)
        return done, last.describe()

    return poll


@then("a spot check of the Redis RDB snapshot finds it loadable")
def rdb_spot_check(drill: Drill, cache: Cache) -> None:
    """Seed 4.3's Redis AOF 校验: the node in use snapshotted as `redis-cli --rdb` does and
    read by `redis-check-rdb` (drillbook.redis_snapshot); the line of the spot-check record,
    with the hit rate last measured, is written whatever the verdict."""
    node = drill.recall(CacheInUse).node if drill.knows(CacheInUse) else PRIMARY
    with tempfile.TemporaryDirectory(prefix="drillbook-rdb-") as work_dir:
        snapshot = drill.observed(
            f"RDB snapshot of {node}",
            lambda: snapshot_and_load(node, cache.url(node), Path(work_dir), RDB_S),
        )
    drill.evidence.attach_json(f"redis-cli --rdb, redis-check-rdb: {node}", asdict(snapshot))
    rates = [point.rate for point in hit_rates(drill.history) if point.rate is not None]
    drill.spot_checked(rdb_spot_check_line(time.time(), snapshot, rates[-1] if rates else None))
    drill.verdict(rdb_loads(snapshot))


@then(parsers.parse("Redis accepted commands again within {limit:g} {unit} of the fault"))
def accepted_again(drill: Drill, limit: float, unit: str) -> None:
    drill.verdict(accepting_again(drill.history, drill.require_t0(), to_seconds(limit, unit)))


@then(parsers.parse("at most {limit:g} {unit} of acknowledged Redis writes are lost"))
def redis_writes_lost(drill: Drill, cache: Cache, limit: float, unit: str) -> None:
    """As the RPO: T0 minus the last acknowledgement up to which every key survived, which
    reads as the span of acknowledged writes lost ("0.02 s of writes")."""
    result = rpo(
        drill.history,
        drill.require_t0(),
        survivors(drill, cache),
        to_seconds(limit, unit),
        process_prefix="redis:writer",
        name="Redis keys lost",
    )
    drill.verdict(replace(result, unit=SECONDS_OF_WRITES))


@then("Redis came back empty")
def came_back_empty_step(drill: Drill, cache: Cache) -> None:
    drill.verdict(came_back_empty(drill.history, drill.require_t0(), survivors(drill, cache)))


@then(parsers.parse("the Redis hit rate was back to {pct:g}% within {limit:g} {unit} of the fault"))
def hit_rate_back(drill: Drill, pct: float, limit: float, unit: str) -> None:
    threshold = to_seconds(limit, unit)
    drill.verdict(hit_rate_recovery(drill.history, drill.require_t0(), threshold, target_pct=pct))


@then(
    parsers.parse(
        'the Redis signal "hit rate below {pct:g}% or node unreachable" was raised '
        "within {limit:g} {unit} of the fault"
    )
)
def signal_after_fault(drill: Drill, pct: float, limit: float, unit: str) -> None:
    """Observed from T0 to the end of the drill (its freeze): a cold cache outlives the
    restart that ends the outage."""
    end = drill.frozen_at if drill.frozen_at is not None else time.time()
    within_s = to_seconds(limit, unit)
    drill.verdict(signal_raised(drill.history, drill.require_t0(), end, within_s, below_pct=pct))


@given("every user's quota matches their usage records in PostgreSQL")
@when("every user's quota matches their usage records in PostgreSQL")
def quota_matches(drill: Drill, service: Service) -> None:
    """A checkpoint: each user's check makes one more lookup, so it is a Given or a When,
    never a Then."""
    users = drill.recall(QuotaUsers).users
    samples = [quota_sample(service, user) for user in users]
    drill.verdict(quota_consistency(samples))


def quota_sample(service: Service, user: str) -> QuotaSample:
    """The service's limit and counter, the user's usage rows, then one more lookup: whether
    the service enforces the limit it counts (only the quota user's own counter moves)."""
    state = service.quota(user)
    usage = service.lookups_today(user, state["day"])
    status, _headers, _body = service.lookup("quota", user)
    return QuotaSample(user, state["limit"], usage, state["counter"], status)


def survivors(drill: Drill, cache: Cache) -> frozenset[int]:
    """Numbers of the writer's keys present now on the node the service uses (read once)."""
    if not drill.knows(RedisSurvivors):
        writer = drill.recall(RedisWrites).writer
        node = drill.recall(CacheInUse).node
        with cache.client(node) as client:
            ids = frozenset(writer.surviving_ids(client))
        drill.remember(RedisSurvivors(node, ids))
        drill.evidence.attach_text(
            f"redis {node}: SCAN {writer.prefix}:*", f"{len(ids)} keys survive"
        )
    return drill.recall(RedisSurvivors).ids
