"""Faults: each step journals its fault before injecting it, and marks T0 on the first."""

from __future__ import annotations

import time
from functools import partial

from pytest_bdd import parsers, when

from drillbook.drill import Drill
from drillbook.faults.heal import heal_database
from drillbook.faults.journal import FaultJournal
from drillbook.stack import LocalStack


@when(parsers.parse("the PostgreSQL primary in {az} is killed with SIGKILL"))
def kill_primary(drill: Drill, environment: LocalStack, journal: FaultJournal, az: str) -> None:
    node = environment.pg.node(az)
    pid = node.pid()
    assert pid is not None, f"postgres {az} is not running, so it cannot be killed"
    drill.mark_fault()
    journal.inject(
        "kill -9", f"postgres {az}", node.kill9, partial(heal_database, environment), pid=pid
    )
    drill.evidence.attach_text(f"kill -9 {pid} (postgres {az} postmaster)", f"killed pid {pid}")


@when(parsers.parse("the outage is detected after {seconds:g} seconds"))
def outage_detected(drill: Drill, seconds: float) -> None:
    """The time the on-call needs to notice and decide; the workload keeps recording."""
    drill.require_t0()
    time.sleep(seconds)


@when(parsers.parse("the standby in {az} is promoted"))
def promote_standby(drill: Drill, environment: LocalStack, journal: FaultJournal, az: str) -> None:
    node = environment.pg.node(az)
    journal.inject("promote", f"postgres {az}", node.promote, partial(heal_database, environment))
    rows = node.query("SELECT pg_is_in_recovery(), timeline_id FROM pg_control_checkpoint()")
    drill.evidence.attach_text(f"psql {az}: pg_is_in_recovery(), timeline", repr(rows))


@when(parsers.parse("the service is pointed at the database in {az}"))
def point_service(drill: Drill, environment: LocalStack, journal: FaultJournal, az: str) -> None:
    node = environment.pg.node(az)
    journal.inject(
        "switch endpoint",
        f"service database -> {az}",
        partial(environment.service.switch_database, node.app_dsn),
        partial(heal_database, environment),
    )
    drill.facts["database_node"] = node
    drill.evidence.attach_json(
        "service database endpoint", {"dsn": node.app_dsn, **environment.service.database()}
    )
