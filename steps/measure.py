"""Measurement: the plan's thresholds asserted on checks computed from the drill's history.

Every Then here reads the frozen history (the first Then stopped the workload), so their order
cannot change a figure.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import ClassVar

from pytest_bdd import given, parsers, then, when

from drillbook.capabilities import Database
from drillbook.checks import (
    lost_writes,
    outage_seen,
    p95_at_most,
    p95_vs_baseline,
    rpo,
    rpo_lag,
    sla,
)
from drillbook.checks.duration import to_seconds
from drillbook.checks.sla_window import sla_over_window
from drillbook.drill import Drill, MissingStep
from drillbook.profile import Profile
from drillbook.workload import Op, surviving_ids
from steps import DatabaseInUse, probe_process, rto_now


@dataclass(frozen=True)
class Survivors:
    """The writer's rows present after recovery, read once so every check sees the same."""

    PROVIDED_BY: ClassVar[str] = "Given a writer commits numbered rows every N ms"
    ids: frozenset[int]


@then(parsers.parse("the RTO is at most {limit:g} {unit}"))
def rto_at_most(drill: Drill, dr_profile: Profile, limit: float, unit: str) -> None:
    drill.verdict(rto_now(drill, dr_profile, to_seconds(limit, unit)))


@then(parsers.parse('the RTO of "{path}" is at most {limit:g} {unit}'))
def endpoint_rto_at_most(
    drill: Drill, dr_profile: Profile, path: str, limit: float, unit: str
) -> None:
    result = rto_now(drill, dr_profile, to_seconds(limit, unit), prefix=probe_process(path))
    drill.verdict(replace(result, name=f"RTO {path}"))


@then("the probes saw the outage")
def probes_saw_outage(drill: Drill) -> None:
    drill.verdict(outage_seen(drill.history, drill.require_t0()))


@then(parsers.parse('the probes of "{path}" saw the outage'))
def endpoint_saw_outage(drill: Drill, path: str) -> None:
    drill.verdict(
        outage_seen(drill.history, drill.require_t0(), processes_prefix=probe_process(path))
    )


@then(parsers.parse("the SLA over the drill is at least {pct:g}%"))
def sla_at_least(drill: Drill, pct: float) -> None:
    drill.verdict(sla(drill.history, pct))


@then(parsers.parse("the SLA over the {minutes:g} minutes from T0 is at least {pct:g}%"))
def sla_over_plan_window(drill: Drill, dr_profile: Profile, minutes: float, pct: float) -> None:
    """The plan's window, however soon the drill ends: see drillbook.checks.sla_window."""
    result = sla_over_window(
        drill.history,
        drill.require_t0(),
        minutes * 60,
        pct,
        rto_window_s=dr_profile.workload["window_s"],
        min_requests=dr_profile.workload["window_requests"],
        settled_from=max(op.start for op in drill.operations()),
    )
    drill.verdict(result)


@then(parsers.parse('no request to "{path}" failed during the drill'))
def no_request_failed(drill: Drill, path: str) -> None:
    drill.verdict(sla(drill.history, 100.0, start=drill.require_t0(), prefix=probe_process(path)))


@given(parsers.parse("the baseline is measured for {seconds:g} seconds"))
def measure_baseline(drill: Drill, seconds: float) -> None:
    drill.window("baseline", seconds)


@when(parsers.parse("the latency is measured again for {seconds:g} seconds"))
def measure_again(drill: Drill, seconds: float) -> None:
    """A comparison window under the same probe load as the baseline, with no harness calls
    (fault steps, waits polling the service) competing with the probes."""
    drill.window("comparison", seconds)


@then(parsers.parse('P95 of "{path}" is no worse than {pct:g}% of the baseline'))
def p95_against_baseline(drill: Drill, path: str, pct: float) -> None:
    """Against the comparison windows if any were measured, else everything since T0."""
    baselines = drill.windows("baseline")
    if not baselines:
        raise MissingStep('no baseline: add "Given the baseline is measured for N seconds"')
    spans = [(window.start, window.end) for window in baselines]
    comparisons = drill.windows("comparison")
    if comparisons:
        windows = [(window.start, window.end) for window in comparisons]
    else:
        windows = [(drill.t0 if drill.t0 is not None else spans[-1][1], drill.frozen_at)]
    loads = (host_cpu_busy(baselines), host_cpu_busy(comparisons) if comparisons else None)
    drill.verdict(p95_vs_baseline(drill.history, probe_process(path), spans, windows, pct, loads))


def host_cpu_busy(windows: list[Op]) -> float | None:
    """How busy the harness's host was over measured windows, if it could tell for each."""
    shares = [w.value.get("host_cpu_busy") if isinstance(w.value, dict) else None for w in windows]
    if None in shares:
        return None
    busy_seconds = sum(share * w.latency for share, w in zip(shares, windows, strict=True))
    return busy_seconds / sum(w.latency for w in windows)


@then(parsers.parse('the P95 of "{path}" during the drill is at most {limit:g} {unit}'))
def p95_during_drill(drill: Drill, path: str, limit: float, unit: str) -> None:
    drill.verdict(
        p95_at_most(
            drill.history, probe_process(path), to_seconds(limit, unit), start=drill.require_t0()
        )
    )


@then(parsers.parse("the RPO is at most {limit:g} {unit}"))
def rpo_at_most(drill: Drill, database: Database, limit: float, unit: str) -> None:
    ids = survivors(drill, database)
    drill.verdict(rpo(drill.history, drill.require_t0(), ids, to_seconds(limit, unit)))


@then(parsers.parse("the RPO by replication lag is at most {limit:g} {unit}"))
def rpo_by_lag(drill: Drill, limit: float, unit: str) -> None:
    drill.verdict(rpo_lag(drill.history, drill.require_t0(), to_seconds(limit, unit)))


@then("no acknowledged write is lost")
def no_write_lost(drill: Drill, database: Database) -> None:
    drill.verdict(lost_writes(drill.history, survivors(drill, database)))


def survivors(drill: Drill, database: Database) -> frozenset[int]:
    """Ids of the writer's rows present now on the instance it last wrote to (read once)."""
    if not drill.knows(Survivors):
        instance = database.instance(drill.recall(DatabaseInUse).name)
        ids = frozenset(surviving_ids(instance.app_dsn))
        drill.remember(Survivors(ids))
        drill.evidence.attach_text(
            f"psql {instance.name}: SELECT id FROM drill_writes", f"{len(ids)} rows survive"
        )
    return drill.recall(Survivors).ids
