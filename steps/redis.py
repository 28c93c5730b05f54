"""Redis (plan 4.1, May): the primary killed and restarted from its AOF, rebuilt from nothing
with the quota compensated from PostgreSQL, or cut off while its replica is promoted; the hit
rate and the plan's Redis signal (section 2) sampled throughout."""

from __future__ import annotations

import itertools
import secrets
import time
from functools import partial

import httpx
import pytest
from pytest_bdd import given, parsers, then, when

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
from drillbook.checks.duration import to_seconds
from drillbook.conditions import Poll, condition
from drillbook.drill import Drill
from drillbook.faults.heal import heal_redis
from drillbook.faults.journal import FaultJournal
from drillbook.profile import Profile
from drillbook.stack import LocalStack
from drillbook.stack.redis import RedisNode
from drillbook.workload import HttpProbe, RedisStatsSampler, RedisWriter
from steps import probe_user
from steps.database import app_query
from steps.traffic import SEED_WORDS, answer_flags, client_timeout, run_client

TIMEOUT_S = 5.0
# The user's lookups of one UTC day, as the service counts them for its quota.
USAGE_OF_DAY = (
    "SELECT count(*) FROM lookups"
    " WHERE user_id = %s AND looked_up_at >= (%s::date)::timestamp AT TIME ZONE 'UTC'"
)


def redis_node(drill: Drill, environment: LocalStack) -> RedisNode:
    """The node the service uses; pointing the service at the replica moves it."""
    return drill.facts.setdefault("redis_node", environment.redis.primary)


@given(parsers.parse("lookups cycle through {words:d} words every {interval:d} ms"))
def lookups_cycle(
    drill: Drill, environment: LocalStack, dr_profile: Profile, words: int, interval: int
) -> None:
    """The steady lookup workload whose cache reads make the hit rate: each word is a miss
    until it is cached, then a hit until its entry expires or Redis loses it."""
    vocabulary = itertools.cycle([f"word-{n:04d}" for n in range(1, words + 1)])
    probe = HttpProbe(
        drill.history,
        environment.service.url,
        "/lookup",
        interval_s=interval / 1000,
        timeout_s=client_timeout(dr_profile),
        params=lambda: {"word": next(vocabulary), "user": probe_user(drill)},
        record=answer_flags,
    )
    run_client(drill, probe)


@given(parsers.parse("a Redis writer acknowledges numbered keys every {interval:d} ms"))
def redis_writer(drill: Drill, environment: LocalStack, dr_profile: Profile, interval: int) -> None:
    redis_node(drill, environment)
    writer = RedisWriter(
        drill.history,
        lambda: drill.facts["redis_node"].url,
        interval_s=interval / 1000,
        timeout_s=client_timeout(dr_profile),
    )
    drill.facts["redis_writer"] = writer
    run_client(drill, writer)


@given(parsers.parse("the Redis hit rate is sampled every {interval:d} ms"))
def hit_rate_sampled(
    drill: Drill, environment: LocalStack, dr_profile: Profile, interval: int
) -> None:
    redis_node(drill, environment)
    sampler = RedisStatsSampler(
        drill.history,
        lambda: drill.facts["redis_node"].url,
        "service",
        interval_s=interval / 1000,
        timeout_s=client_timeout(dr_profile),
    )
    run_client(drill, sampler)


@given(
    parsers.parse(
        "{users:d} users with a daily quota of {limit:d} lookups look up words through the service"
    )
)
def quota_users(drill: Drill, environment: LocalStack, users: int, limit: int) -> None:
    """User n of N tries 2·limit·n/N lookups: the first half stay below the limit, the others
    reach it and are refused beyond it, which the service must already do before any fault."""
    names = [f"quota-{secrets.token_hex(3)}-{n:02d}" for n in range(1, users + 1)]
    for user in names:
        app_query(
            environment.pg.primary,
            "INSERT INTO profiles (user_id, daily_lookups) VALUES (%s, %s)",
            (user, limit),
        )
    tried, served = {}, {}
    with httpx.Client(base_url=environment.service.url, timeout=TIMEOUT_S) as client:
        for n, user in enumerate(names, 1):
            tried[user] = round(2 * limit * n / users)
            words = itertools.islice(itertools.cycle(SEED_WORDS), tried[user])
            statuses = [
                client.get("/lookup", params={"word": word, "user": user}).status_code
                for word in words
            ]
            served[user] = statuses.count(200)
    drill.facts["quota_users"] = names
    drill.evidence.attach_json(
        f"quota users (daily quota {limit})",
        {user: {"tried": tried[user], "served": served[user]} for user in names},
    )
    wrong = {user: served[user] for user in names if served[user] != min(tried[user], limit)}
    assert not wrong, f"the quota of {limit} was not enforced before the fault (served): {wrong}"


@when("the Redis primary is killed with SIGKILL")
def kill_primary(drill: Drill, environment: LocalStack, journal: FaultJournal) -> None:
    primary = environment.redis.primary
    pid = primary.pid()
    assert pid is not None, "the Redis primary is not running, so it cannot be killed"
    drill.mark_fault()
    journal.inject(
        "kill -9", "redis primary", primary.kill9, partial(heal_redis, environment), pid=pid
    )
    drill.evidence.attach_text(f"kill -9 {pid} (redis primary)", f"killed pid {pid}")


@when("the AOF and RDB files of the Redis primary are deleted")
def delete_persistence(drill: Drill, environment: LocalStack, journal: FaultJournal) -> None:
    """What a lost disk does: the restarted primary starts empty, and its replica resyncs
    from it, so both lose everything."""
    primary = environment.redis.primary
    drill.mark_fault()
    journal.inject(
        "AOF and RDB deleted", "redis primary", primary.wipe, partial(heal_redis, environment)
    )


@when("the Redis primary is restarted")
def restart_primary(drill: Drill, environment: LocalStack) -> None:
    """From whatever its data directory holds: the AOF, or nothing. Waits (to the node's
    deadline) until it has loaded it."""
    drill.marks["redis restart"] = time.time()
    took = environment.redis.primary.start()
    drill.marks["redis restored"] = time.time()
    drill.evidence.attach_text(
        "redis primary restarted", f"accepting commands {took:.3f} s after it was started"
    )


@when("the Redis replica is promoted")
def promote_replica(drill: Drill, environment: LocalStack, journal: FaultJournal) -> None:
    replica = environment.redis.replica
    journal.inject("promote", "redis replica", replica.promote, partial(heal_redis, environment))
    drill.evidence.attach_json("redis replica: INFO replication", replica.info("replication"))


@when("the service is pointed at the Redis replica")
def point_at_replica(drill: Drill, environment: LocalStack, journal: FaultJournal) -> None:
    replica = environment.redis.replica
    answer = journal.inject(
        "switch endpoint",
        "service redis -> replica",
        partial(environment.service.switch_redis, replica.url),
        partial(heal_redis, environment),
    )
    drill.facts["redis_node"] = replica
    drill.evidence.attach_json("service redis endpoint", answer)


@when("the quota compensation job runs")
def compensation_job(drill: Drill, environment: LocalStack) -> None:
    response = httpx.post(f"{environment.service.url}/admin/quota/recompute", timeout=TIMEOUT_S)
    response.raise_for_status()
    drill.evidence.attach_json("POST /admin/quota/recompute", response.json())


@condition("the Redis hit rate is at least {pct:g}%")
def hit_rate_at_least(request: pytest.FixtureRequest, drill: Drill, pct: float) -> Poll:
    """The last sample that says something (unreachable, or enough reads) meets the target;
    after a fault, its time is the drill's recovery."""

    def poll() -> tuple[bool, str]:
        if drill.workload is None or not drill.workload.running:
            # a check before this wait stopped the workload: wait for the hit rate before it
            return False, "the workload has stopped, so no new sample can come"
        known = [p for p in hit_rates(drill.history) if not p.reachable or p.rate is not None]
        if not known:
            return False, "no hit rate sampled yet"
        last = known[-1]
        done = last.reachable and last.rate >= pct / 100
        if done and drill.t0 is not None:
            drill.recovered_at = max(drill.recovered_at or 0.0, last.at)
        return done, last.describe()

    return poll


@then(parsers.parse("Redis accepted commands again within {limit:g} {unit} of the fault"))
def accepted_again(drill: Drill, limit: float, unit: str) -> None:
    drill.check(accepting_again(drill.history, drill.require_t0(), to_seconds(limit, unit)))


@then(parsers.parse("at most {limit:g} {unit} of acknowledged Redis writes are lost"))
def redis_writes_lost(drill: Drill, limit: float, unit: str) -> None:
    """As the RPO: T0 minus the last acknowledgement up to which every key survived."""
    drill.stop_workload()
    drill.check(
        rpo(
            drill.history,
            drill.require_t0(),
            redis_survivors(drill),
            to_seconds(limit, unit),
            process_prefix="redis:writer",
            name="Redis keys lost",
        )
    )


@then("Redis came back empty")
def came_back_empty_step(drill: Drill) -> None:
    drill.check(came_back_empty(drill.history, drill.require_t0(), redis_survivors(drill)))


@then(parsers.parse("the Redis hit rate was back to {pct:g}% within {limit:g} {unit} of the fault"))
def hit_rate_back(drill: Drill, pct: float, limit: float, unit: str) -> None:
    drill.stop_workload()
    threshold = to_seconds(limit, unit)
    drill.check(hit_rate_recovery(drill.history, drill.require_t0(), threshold, target_pct=pct))


@then(
    parsers.parse(
        'the Redis signal "hit rate below {pct:g}% or node unreachable" was raised '
        "within {limit:g} {unit} of the fault"
    )
)
def signal_after_fault(drill: Drill, pct: float, limit: float, unit: str) -> None:
    """Observed from T0 to now: a cold cache outlives the restart that ends the outage."""
    drill.stop_workload()
    within_s = to_seconds(limit, unit)
    t0 = drill.require_t0()
    drill.check(signal_raised(drill.history, t0, time.time(), within_s, below_pct=pct))


@then("every user's quota matches their usage records in PostgreSQL")
def quota_matches(drill: Drill, environment: LocalStack) -> None:
    samples = [quota_sample(environment, user) for user in drill.facts["quota_users"]]
    drill.check(quota_consistency(samples))


def quota_sample(environment: LocalStack, user: str) -> QuotaSample:
    """The service's limit and counter, the user's usage rows, then one more lookup."""
    with httpx.Client(base_url=environment.service.url, timeout=TIMEOUT_S) as client:
        state = client.get("/admin/quota", params={"user": user}).raise_for_status().json()
        [(usage,)] = app_query(environment.pg.primary, USAGE_OF_DAY, (user, state["day"]))
        status = client.get("/lookup", params={"word": "quota", "user": user}).status_code
    return QuotaSample(user, state["limit"], usage, state["counter"], status)


def redis_survivors(drill: Drill) -> set[int]:
    """Numbers of the writer's keys present now on the node it last wrote to (read once)."""
    if "redis_survivors" not in drill.facts:
        node = drill.facts["redis_node"]
        with node.client() as client:
            drill.facts["redis_survivors"] = drill.facts["redis_writer"].surviving_ids(client)
        drill.evidence.attach_text(
            f"{node.name}: SCAN {drill.facts['redis_writer'].prefix}:*",
            f"{len(drill.facts['redis_survivors'])} keys survive",
        )
    return drill.facts["redis_survivors"]
