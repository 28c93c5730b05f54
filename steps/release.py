"""Releases: the service's replicas rolled from one version to another behind the router, and
the contract corpora that tell a good release from a breaking one.

A rollout is journaled as a fault whose heal rolls every replica back to the version it
replaced, so a drill that fails half-way leaves the service on the good release.
"""

from __future__ import annotations

import dataclasses
import time
from functools import partial

from pytest_bdd import given, parsers, then, when

from drillbook.checks import CheckResult, duration_check, sla
from drillbook.contract import replay
from drillbook.drill import Drill
from drillbook.faults.journal import FaultJournal
from drillbook.stack import LocalStack

RELEASE = "service release"
# Marked windows in which requests must not fail: replicas are drained before they stop.
ROLLING_WINDOWS = ("roll", "rollback")


def roll_to(drill: Drill, environment: LocalStack, version: str, window: str) -> None:
    """Roll each replica not yet on `version`, one at a time, timing each step."""
    steps = drill.facts.setdefault("roll steps", [])
    drill.marks[f"{window} start"] = time.time()
    for index, replica in enumerate(environment.service.replicas):
        if replica.running and replica.config["version"] == version:
            continue
        started = time.monotonic()
        environment.service.roll(index, version)
        took = time.monotonic() - started
        steps.append({"window": window, "replica": index + 1, "version": version, "took_s": took})
    drill.marks[f"{window} end"] = time.time()


@given(parsers.parse("the service runs {n:d} replicas of {version}"))
def replicas_of(environment: LocalStack, n: int, version: str) -> None:
    versions = environment.service.versions()
    assert versions == [version] * n, f"expected {n} replicas of {version}, found {versions}"


@when(parsers.parse("{version} is rolled out replica by replica"))
def roll_out(drill: Drill, environment: LocalStack, journal: FaultJournal, version: str) -> None:
    previous = environment.service.versions()
    assert len(set(previous)) == 1, f"replicas run mixed versions {previous}: no clean release"
    drill.facts["release from"] = previous[0]
    drill.mark_fault()
    journal.inject(
        f"release {version}",
        RELEASE,
        partial(roll_to, drill, environment, version, "roll"),
        partial(roll_to, drill, environment, previous[0], "rollback"),
        version=version,
        previous=previous[0],
    )
    drill.evidence.attach_json("roll steps", drill.facts["roll steps"])


@when(parsers.parse("the release is rolled back to {version}"))
def roll_back(drill: Drill, journal: FaultJournal, version: str) -> None:
    previous = drill.facts.get("release from")
    assert previous == version, f"the release replaced {previous}, not {version}"
    started = time.monotonic()
    assert journal.revert_target(RELEASE), "no release to roll back"
    drill.facts["rollback_s"] = time.monotonic() - started
    drill.evidence.attach_json("roll steps", drill.facts["roll steps"])


def contract_check(drill: Drill, environment: LocalStack, name: str) -> CheckResult:
    result = replay(drill.feature.parent / "data" / f"{name}.jsonl", environment.service.url)
    drill.evidence.attach_json(f"contract replay: {name}", result.as_dict())
    return result


@given(parsers.parse('the contract corpus "{name}" passes 100%'))
@then(parsers.parse('the contract corpus "{name}" passes 100%'))
def contract_passes(drill: Drill, environment: LocalStack, name: str) -> None:
    drill.check(contract_check(drill, environment, name))


@then(parsers.parse('the contract corpus "{name}" fails'))
def contract_fails(drill: Drill, environment: LocalStack, name: str) -> None:
    """The replay detects the break: passes when some sample is answered differently."""
    result = contract_check(drill, environment, name)
    detected = result.figure is not None and result.figure < result.threshold
    verdict = "break detected" if detected else "break NOT detected"
    drill.check(
        dataclasses.replace(
            result,
            name=f"{result.name} break detected",
            passed=detected,
            explanation=f"{verdict}: {result.explanation}",
        )
    )


@then(parsers.parse("the rollback took at most {limit:g} {unit}"))
def rollback_took(drill: Drill, limit: float, unit: str) -> None:
    drill.check(duration_check("rollback", drill.facts.get("rollback_s"), limit, unit))


@then("no request failed during the rolling steps")
def none_failed_while_rolling(drill: Drill) -> None:
    drill.stop_workload()
    windows = [w for w in ROLLING_WINDOWS if f"{w} end" in drill.marks]
    assert windows, "no rolling step was marked: roll a release out first"
    for window in windows:
        start, end = drill.marks[f"{window} start"], drill.marks[f"{window} end"]
        drill.check(
            dataclasses.replace(
                sla(drill.history, 100.0, start=start, end=end), name=f"SLA {window}"
            )
        )
