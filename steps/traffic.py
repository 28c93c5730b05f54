"""Traffic: the workload of probes and writers that records what clients saw."""

from __future__ import annotations

from pytest_bdd import given, parsers, when

from drillbook.capabilities import Cache, Database, Service
from drillbook.drill import Drill
from drillbook.profile import Profile
from drillbook.waits import pause
from drillbook.workload import HttpProbe, LagSampler, RedisProbe, SqlProbe, Writer, answer_flags
from steps import (
    CacheInUse,
    DatabaseInUse,
    cache_in_use,
    client_timeout,
    database_in_use,
    probe_user,
    quoted,
)

SEED_WORDS = ("serendipity", "ephemeral", "lucid", "quorum", "latency")


@given("the reference service is up")
def service_is_up(service: Service) -> None:
    service.health()


@given(parsers.parse("probes call {paths} every {interval:d} ms"))
def probes_call(
    drill: Drill, service: Service, dr_profile: Profile, paths: str, interval: int
) -> None:
    start_probes(drill, service, paths, interval, client_timeout(dr_profile))


@given(parsers.parse("probes call {paths} every {interval:d} ms, waiting up to {wait:g} seconds"))
def patient_probes_call(
    drill: Drill, service: Service, paths: str, interval: int, wait: float
) -> None:
    """Clients that wait longer than the profile's probe timeout: where the answer under test
    comes only after a dependency's timeout (a degraded answer after the LLM adapter's), an
    impatient probe would record the harness's impatience, not the service's answer."""
    start_probes(drill, service, paths, interval, wait)


def start_probes(drill: Drill, service: Service, paths: str, interval: int, wait_s: float) -> None:
    for path in quoted(paths):
        probe = HttpProbe(
            drill.history,
            service.url,
            path,
            interval_s=interval / 1000,
            timeout_s=wait_s,
            params={"word": "drill", "user": probe_user(drill)},
            record=answer_flags,
        )
        drill.run_client(probe)


def in_use_dsn(drill: Drill, database: Database) -> str:
    return database.instance(drill.recall(DatabaseInUse).name).app_dsn


@given(parsers.parse("a writer commits numbered rows every {interval:d} ms"))
def writer_commits(drill: Drill, database: Database, dr_profile: Profile, interval: int) -> None:
    # The writer numbers its rows from 1, hence the empty table.
    database.instance(database_in_use(drill, database.primary_zone)).reset_writes()
    writer = Writer(
        drill.history,
        lambda: in_use_dsn(drill, database),
        interval_s=interval / 1000,
        timeout_s=client_timeout(dr_profile),
    )
    drill.run_client(writer)


@given(parsers.parse("a SQL probe queries the database every {interval:d} ms"))
def sql_probe(drill: Drill, database: Database, dr_profile: Profile, interval: int) -> None:
    database_in_use(drill, database.primary_zone)
    probe = SqlProbe(
        drill.history,
        lambda: in_use_dsn(drill, database),
        "glancy",
        interval_s=interval / 1000,
        timeout_s=client_timeout(dr_profile),
    )
    drill.run_client(probe)


@given(parsers.parse("a Redis probe pings the cache every {interval:d} ms"))
def redis_probe(drill: Drill, cache: Cache, dr_profile: Profile, interval: int) -> None:
    """PINGs the node the service uses, following it when a step points the service at
    another one."""
    cache_in_use(drill)
    probe = RedisProbe(
        drill.history,
        lambda: cache.url(drill.recall(CacheInUse).node),
        "cache",
        interval_s=interval / 1000,
        timeout_s=client_timeout(dr_profile),
    )
    drill.run_client(probe)


@given(parsers.parse("the replication lag of {az} is sampled every {interval:d} ms"))
def lag_sampled(drill: Drill, database: Database, az: str, interval: int) -> None:
    standby, primary = database.admin_dsn(az), database.admin_dsn(database.primary_zone)
    sampler = LagSampler(
        drill.history, lambda: standby, lambda: primary, interval_s=interval / 1000, name=az
    )
    drill.run_client(sampler)


@given(parsers.parse("the workload has run for {seconds:g} seconds"))
@when(parsers.parse("the workload runs for {seconds:g} more seconds"))
def workload_runs(drill: Drill, seconds: float) -> None:
    drill.require_running_workload("letting it run")
    pause(seconds)


@given(parsers.parse("the lookups table holds history for {users:d} users"))
def seed_history(service: Service, users: int) -> None:
    for n in range(1, users + 1):
        for word in SEED_WORDS:
            status, _headers, body = service.lookup(word, user_id(n))
            if status != 200:
                raise RuntimeError(f"seeding history: GET /lookup answered {status} {body}")


def user_id(n: int) -> str:
    return f"u-{n:04d}"
