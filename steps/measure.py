"""Measurement: the plan's thresholds asserted on checks computed from the drill's history."""

from __future__ import annotations

from pytest_bdd import parsers, then

from drillbook.checks import CheckResult, lost_writes, rpo, rto
from drillbook.checks.duration import to_seconds
from drillbook.drill import Drill
from drillbook.profile import Profile
from drillbook.waits import wait_until
from drillbook.workload import surviving_ids


def rto_now(drill: Drill, profile: Profile, threshold_s: float) -> CheckResult:
    return rto(
        drill.history,
        drill.require_t0(),
        threshold_s,
        window_s=profile.workload["window_s"],
        min_requests=profile.workload["window_requests"],
    )


@then(parsers.parse("within {seconds:g} seconds the probes succeed again"))
def probes_recover(drill: Drill, dr_profile: Profile, progress, seconds: float) -> None:
    measured: list[CheckResult] = []

    def recovered() -> tuple[bool, str]:
        measured.append(rto_now(drill, dr_profile, threshold_s=seconds))
        return measured[-1].figure is not None, measured[-1].explanation

    wait_until("the probes to succeed again", recovered, seconds, progress=progress)
    drill.recovered_at = measured[-1].details["recovered_at"]
    progress(f"probes recovered {drill.recovered_at - drill.require_t0():.2f} s after T0")


@then(parsers.parse("the RTO is at most {limit:g} {unit}"))
def rto_at_most(drill: Drill, dr_profile: Profile, limit: float, unit: str) -> None:
    drill.stop_workload()
    drill.check(rto_now(drill, dr_profile, to_seconds(limit, unit)))


@then(parsers.parse("the RPO is at most {limit:g} {unit}"))
def rpo_at_most(drill: Drill, limit: float, unit: str) -> None:
    drill.stop_workload()
    drill.check(rpo(drill.history, drill.require_t0(), survivors(drill), to_seconds(limit, unit)))


@then("no acknowledged write is lost")
def no_write_lost(drill: Drill) -> None:
    drill.stop_workload()
    drill.check(lost_writes(drill.history, survivors(drill)))


def survivors(drill: Drill) -> set[int]:
    """Ids of the writer's rows present now on the node it last wrote to (read once)."""
    if "survivors" not in drill.facts:
        node = drill.facts["writer_node"]
        drill.facts["survivors"] = surviving_ids(node.direct_app_dsn)
        drill.evidence.attach_text(
            f"psql {node.name}: SELECT id FROM drill_writes",
            f"{len(drill.facts['survivors'])} rows survive",
        )
    return drill.facts["survivors"]
