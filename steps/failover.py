"""PostgreSQL failover (runbook 5.1): the primary killed, the outage detected, the standby
promoted and the service pointed at it. Each fault and remediation is an operation of the
drill's history, journaled with its revert before it runs; the first fault is T0. A failover
away from a zone that still runs loses what the standby had not replayed: its RPO is measured
at the promotion (the lag) and at the service's move (the writes)."""

from __future__ import annotations

from dataclasses import replace

from pytest_bdd import parsers, then, when

from drillbook.bdd import performs
from drillbook.capabilities import Database, Service
from drillbook.capabilities.operation import REMEDIATION
from drillbook.checks import CheckResult, rpo, rpo_lag
from drillbook.checks.duration import to_seconds
from drillbook.checks.rpo import lag_figure
from drillbook.conditions import Poll, condition
from drillbook.drill import Drill, MissingStep
from drillbook.waits import pause
from drillbook.workload.history import Op
from steps import DatabaseInUse
from steps.measure import survivors

PROMOTED = "the standby in {az} is promoted"
POINTED = "the service is pointed at the database in {az}"
LAG_AT_PROMOTION = "the RPO by replication lag when {az} was promoted is at most {limit:g} {unit}"


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


@when(parsers.parse(PROMOTED))
@performs("database.promote", zone="{az}")
def promote_standby(drill: Drill, database: Database, az: str) -> None:
    state = drill.apply(database.promote(az))
    drill.evidence.attach_json(f"psql {az}: pg_is_in_recovery(), timeline", state)


@when(parsers.parse(POINTED))
@performs("service.point_database", name="{az}")
def point_service(drill: Drill, service: Service, database: Database, az: str) -> None:
    answer = drill.apply(service.point_database(az))
    drill.remember(DatabaseInUse(az))
    endpoint = {"dsn": database.instance(az).app_dsn, **answer}  # masked in the evidence
    drill.evidence.attach_json("service database endpoint", endpoint)


@condition("the replication lag of {az} is above {seconds:g} seconds")
def lag_above(drill: Drill, az: str, seconds: float) -> Poll:
    """Runbook 5.1's trigger "RDBMS replication lag > 5 s", read from the lag samples as the RPO
    by replication lag reads them (needs the step sampling the lag of `az`)."""
    process = f"lag:{az}"

    def poll() -> tuple[bool, str]:
        samples = [op for op in drill.history.ops(process=process) if op.outcome == "ok"]
        if not samples:
            return False, f"no lag sample of {az} yet ({process})"
        figure, state = lag_figure(samples[-1].value)
        if figure is None:
            return False, f"the last lag sample of {az} has no figure: {state}"
        return figure > seconds, f"replication lag of {az} {figure:.2f} s ({state})"

    return poll


@then(parsers.parse(LAG_AT_PROMOTION))
def rpo_lag_at_promotion(drill: Drill, az: str, limit: float, unit: str) -> None:
    """Runbook 5.1's verification "max(applied_lsn) within 5 min of the primary": the lag of
    the standby in the last sample before its promotion began."""
    promoted = _last(drill, f"postgres {az}", "promote", f"When {PROMOTED.format(az=az)}")
    result = rpo_lag(
        drill.history, promoted.start, to_seconds(limit, unit), prefix=f"lag:{az}",
        name=f"RPO (replication lag) at the promotion of {az}", moment="the promotion",
    )  # fmt: skip
    drill.verdict(result)


@then(parsers.parse("the RPO when the service moved to {az} is at most {limit:g} {unit}"))
def rpo_at_move(drill: Drill, database: Database, az: str, limit: float, unit: str) -> None:
    """The writes a failover away from a running zone lost, from the writer: until the service
    (and the drill's writer with it) moved to `az`, writes went to the old primary, and those
    the promoted standby lacks are lost. Measured at the end of the move, not at T0."""
    moved = _last(
        drill, f"service database -> {az}", "switch endpoint", f"When {POINTED.format(az=az)}"
    )
    result: CheckResult = rpo(
        drill.history, moved.end, survivors(drill, database), to_seconds(limit, unit),
        name=f"RPO of the move to {az}", moment=f"the move to {az}",
    )  # fmt: skip
    drill.verdict(replace(result, details={**result.details, "moved_at": moved.end}))


def _last(drill: Drill, target: str, kind: str, step: str) -> Op:
    done = [op for op in drill.operations(REMEDIATION, target=target)
            if op.value.get("kind") == kind]  # fmt: skip
    if not done:
        raise MissingStep(f"no {kind} of {target} to measure at: the step needs {step!r} earlier")
    return done[-1]
