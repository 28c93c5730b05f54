"""Measurement: the plan's thresholds asserted on checks computed from the drill's history."""

from __future__ import annotations

import time

from pytest_bdd import given, parsers, then, when

from drillbook.checks import lost_writes, p95_at_most, p95_vs_baseline, rpo, rpo_lag, sla
from drillbook.checks.duration import to_seconds
from drillbook.drill import Drill
from drillbook.profile import Profile
from drillbook.workload import surviving_ids
from steps import probe_process, rto_now


@then(parsers.parse("the RTO is at most {limit:g} {unit}"))
def rto_at_most(drill: Drill, dr_profile: Profile, limit: float, unit: str) -> None:
    drill.stop_workload()
    drill.check(rto_now(drill, dr_profile, to_seconds(limit, unit)))


@then(parsers.parse('the RTO of "{path}" is at most {limit:g} {unit}'))
def endpoint_rto_at_most(
    drill: Drill, dr_profile: Profile, path: str, limit: float, unit: str
) -> None:
    drill.stop_workload()
    drill.check(rto_now(drill, dr_profile, to_seconds(limit, unit), prefix=probe_process(path)))


@then(parsers.parse("the SLA over the drill is at least {pct:g}%"))
def sla_at_least(drill: Drill, pct: float) -> None:
    drill.stop_workload()
    drill.check(sla(drill.history, pct))


@then(parsers.parse('no request to "{path}" failed during the drill'))
def no_request_failed(drill: Drill, path: str) -> None:
    drill.stop_workload()
    drill.check(sla(drill.history, 100.0, start=drill.require_t0(), prefix=probe_process(path)))


@given(parsers.parse("the baseline is measured for {seconds:g} seconds"))
def measure_baseline(drill: Drill, seconds: float) -> None:
    record_window(drill, "baseline", seconds)


@when(parsers.parse("the latency is measured again for {seconds:g} seconds"))
def measure_again(drill: Drill, seconds: float) -> None:
    """A comparison window under the same probe load as the baseline, with no harness calls
    (fault steps, waits polling the service) competing with the probes."""
    record_window(drill, "comparison", seconds)


def record_window(drill: Drill, name: str, seconds: float) -> None:
    if drill.workload is None or not drill.workload.running:
        raise AssertionError(f"no workload is running: start probes before the {name}")
    drill.marks[f"{name} start"] = time.time()
    time.sleep(seconds)
    drill.marks[f"{name} end"] = time.time()


@then(parsers.parse('P95 of "{path}" is no worse than {pct:g}% of the baseline'))
def p95_against_baseline(drill: Drill, path: str, pct: float) -> None:
    """Against the comparison window if one was measured, else everything since T0."""
    drill.stop_workload()
    if "baseline end" not in drill.marks:
        raise AssertionError('no baseline: add "Given the baseline is measured for N seconds"')
    baseline = (drill.marks["baseline start"], drill.marks["baseline end"])
    if "comparison end" in drill.marks:
        window = (drill.marks["comparison start"], drill.marks["comparison end"])
    else:
        window = (drill.t0 if drill.t0 is not None else baseline[1], time.time())
    drill.check(p95_vs_baseline(drill.history, probe_process(path), baseline, window, pct))


@then(parsers.parse('the P95 of "{path}" during the drill is at most {limit:g} {unit}'))
def p95_during_drill(drill: Drill, path: str, limit: float, unit: str) -> None:
    drill.stop_workload()
    drill.check(
        p95_at_most(drill.history, probe_process(path), to_seconds(limit, unit), start=drill.t0)
    )


@then(parsers.parse("the RPO is at most {limit:g} {unit}"))
def rpo_at_most(drill: Drill, limit: float, unit: str) -> None:
    drill.stop_workload()
    drill.check(rpo(drill.history, drill.require_t0(), survivors(drill), to_seconds(limit, unit)))


@then(parsers.parse("the RPO by replication lag is at most {limit:g} {unit}"))
def rpo_by_lag(drill: Drill, limit: float, unit: str) -> None:
    drill.stop_workload()
    drill.check(rpo_lag(drill.history, drill.require_t0(), to_seconds(limit, unit)))


@then("no acknowledged write is lost")
def no_write_lost(drill: Drill) -> None:
    drill.stop_workload()
    drill.check(lost_writes(drill.history, survivors(drill)))


def survivors(drill: Drill) -> set[int]:
    """Ids of the writer's rows present now on the node it last wrote to (read once)."""
    if "survivors" not in drill.facts:
        node = drill.facts["database_node"]
        drill.facts["survivors"] = surviving_ids(node.direct_app_dsn)
        drill.evidence.attach_text(
            f"psql {node.name}: SELECT id FROM drill_writes",
            f"{len(drill.facts['survivors'])} rows survive",
        )
    return drill.facts["survivors"]
