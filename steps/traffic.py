"""Traffic: the workload of probes and writers that records what clients saw."""

from __future__ import annotations

import time

import httpx
from pytest_bdd import given, parsers, when

from drillbook.drill import Drill
from drillbook.profile import Profile
from drillbook.stack import LocalStack
from drillbook.stack.postgres import APP_DB, PgNode
from drillbook.workload import HttpProbe, LagSampler, RedisProbe, SqlProbe, Workload, Writer
from drillbook.workload.paced import PacedWorker
from steps import probe_user, quoted

SEED_WORDS = ("serendipity", "ephemeral", "lucid", "quorum", "latency")


def run_client(drill: Drill, client: PacedWorker) -> None:
    """Add a probe, writer or sampler to the drill's workload and start it."""
    if drill.workload is None:
        drill.workload = Workload(drill.history)
    drill.workload.add(client)
    client.start()


def answer_flags(response: httpx.Response) -> dict | None:
    """What a probe keeps of an answer: whether it was the degraded payload, and why."""
    try:
        body = response.json()
    except ValueError:
        return None
    if not isinstance(body, dict) or "degraded" not in body:
        return None
    return {"degraded": body["degraded"], "reason": body.get("degraded_reason")}


def client_timeout(profile: Profile) -> float:
    return profile.workload["probe_timeout_ms"] / 1000


@given("the reference service is up")
def service_is_up(environment: LocalStack) -> None:
    response = httpx.get(f"{environment.service.url}/healthz", timeout=2.0)
    assert response.status_code == 200, f"{environment.service.url}/healthz: {response.status_code}"


@given(parsers.parse("probes call {paths} every {interval:d} ms"))
def probes_call(
    drill: Drill, environment: LocalStack, dr_profile: Profile, paths: str, interval: int
) -> None:
    for path in quoted(paths):
        probe = HttpProbe(
            drill.history,
            environment.service.url,
            path,
            interval_s=interval / 1000,
            timeout_s=client_timeout(dr_profile),
            params={"word": "drill", "user": probe_user(drill)},
            record=answer_flags,
        )
        run_client(drill, probe)


@given(parsers.parse("a writer commits numbered rows every {interval:d} ms"))
def writer_commits(
    drill: Drill, environment: LocalStack, dr_profile: Profile, interval: int
) -> None:
    database_node(drill, environment).query("TRUNCATE drill_writes", dbname=APP_DB)
    writer = Writer(  # numbers its rows from 1, hence the empty table
        drill.history,
        lambda: drill.facts["database_node"].app_dsn,
        interval_s=interval / 1000,
        timeout_s=client_timeout(dr_profile),
    )
    run_client(drill, writer)


@given(parsers.parse("a SQL probe queries the database every {interval:d} ms"))
def sql_probe(drill: Drill, environment: LocalStack, dr_profile: Profile, interval: int) -> None:
    database_node(drill, environment)
    probe = SqlProbe(
        drill.history,
        lambda: drill.facts["database_node"].app_dsn,
        "glancy",
        interval_s=interval / 1000,
        timeout_s=client_timeout(dr_profile),
    )
    run_client(drill, probe)


@given(parsers.parse("a Redis probe pings the cache every {interval:d} ms"))
def redis_probe(drill: Drill, environment: LocalStack, dr_profile: Profile, interval: int) -> None:
    probe = RedisProbe(
        drill.history,
        environment.redis.primary.url,
        "cache",
        interval_s=interval / 1000,
        timeout_s=client_timeout(dr_profile),
    )
    run_client(drill, probe)


def database_node(drill: Drill, environment: LocalStack) -> PgNode:
    """The node the service's clients use; a failover step moves it."""
    return drill.facts.setdefault("database_node", environment.pg.primary)


@given(parsers.parse("the replication lag of {az} is sampled every {interval:d} ms"))
def lag_sampled(drill: Drill, environment: LocalStack, az: str, interval: int) -> None:
    standby, primary = environment.pg.node(az), environment.pg.primary
    sampler = LagSampler(
        drill.history,
        lambda: standby.admin_dsn,
        lambda: primary.admin_dsn,
        interval_s=interval / 1000,
        name=az,
    )
    run_client(drill, sampler)


@given(parsers.parse("the workload has run for {seconds:g} seconds"))
@when(parsers.parse("the workload runs for {seconds:g} more seconds"))
def workload_runs(drill: Drill, seconds: float) -> None:
    if drill.workload is None or not drill.workload.running:
        raise AssertionError("no workload is running: start probes or a writer first")
    time.sleep(seconds)


@given(parsers.parse("the lookups table holds history for {users:d} users"))
def seed_history(environment: LocalStack, users: int) -> None:
    with httpx.Client(base_url=environment.service.url, timeout=5.0) as client:
        for n in range(1, users + 1):
            for word in SEED_WORDS:
                response = client.get("/lookup", params={"word": word, "user": user_id(n)})
                response.raise_for_status()


def user_id(n: int) -> str:
    return f"u-{n:04d}"
