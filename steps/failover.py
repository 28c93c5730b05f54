"""PostgreSQL failover (runbook 5.1): the primary killed, the outage detected, the standby
promoted and the service pointed at it. Each fault and remediation is an operation of the
drill's history, journaled with its revert before it runs; the first fault is T0."""

from __future__ import annotations

from pytest_bdd import parsers, when

from drillbook.bdd import performs
from drillbook.capabilities import Database, Service
from drillbook.drill import Drill
from drillbook.waits import pause
from steps import DatabaseInUse


@when(parsers.parse("the PostgreSQL primary in {az} is killed with SIGKILL"))
@performs("database.kill_primary", zone="{az}")
def kill_primary(drill: Drill, database: Database, az: str) -> None:
    pid = drill.apply(database.kill_primary(az))
    drill.evidence.attach_text(f"kill -9 {pid} (postgres {az} postmaster)", f"killed pid {pid}")


@when(parsers.parse("the outage is detected after {seconds:g} seconds"))
def outage_detected(drill: Drill, seconds: float) -> None:
    """The time the on-call needs to notice and decide; the workload keeps recording."""
    drill.require_t0()
    pause(seconds)


@when(parsers.parse("the standby in {az} is promoted"))
@performs("database.promote", zone="{az}")
def promote_standby(drill: Drill, database: Database, az: str) -> None:
    state = drill.apply(database.promote(az))
    drill.evidence.attach_json(f"psql {az}: pg_is_in_recovery(), timeline", state)


@when(parsers.parse("the service is pointed at the database in {az}"))
@performs("service.point_database", name="{az}")
def point_service(drill: Drill, service: Service, database: Database, az: str) -> None:
    answer = drill.apply(service.point_database(az))
    drill.remember(DatabaseInUse(az))
    endpoint = {"dsn": database.instance(az).app_dsn, **answer}  # masked in the evidence
    drill.evidence.attach_json("service database endpoint", endpoint)
