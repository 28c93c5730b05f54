"""Releases: the service's replicas rolled from one version to another behind the router, and
the contract corpora that tell a good release from a breaking one.

A rollout is a fault of the drill (T0) whose revert rolls every replica back to the version it
replaced, so a drill that fails half-way leaves the service on the good release; the rollback
step is the restore of that fault. Both windows, and the rollback's duration, are read from
the history: the rollout's operation and the restore's. A contract replay is a checkpoint: it
checks the live service where it is written (before the rollout, after it, after the rollback),
each replay a verdict of its own step. Its 500 lookups are traffic of their own, so it is a
Given or a When, never a Then.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable

from pytest_bdd import given, parsers, then, when

from drillbook.bdd import performs, reverts
from drillbook.capabilities import FAULT, Service
from drillbook.capabilities.service import RELEASE
from drillbook.checks import CheckResult, duration_check, sla
from drillbook.checks.degradation import answer_problem
from drillbook.contract import break_detected, replay
from drillbook.drill import RESTORE, CheckFailed, Drill, DrillError, MissingStep
from drillbook.spot_check import SampleCheck
from drillbook.workload import Op
from steps.llm import lookups_spot_check

ROLL_OUT = "When v2 is rolled out replica by replica"
ROLL_BACK = "When the release is rolled back to v1"
ROLLED_BACK_SAMPLE = SampleCheck(
    check="lookups after the rollback without a usable answer",
    unit="lookups",
    item="发布回滚抽查",
    drawn="回滚后的查询",
    right="返回释义与例句",
)


@given(parsers.parse("the service runs {n:d} replicas of {version}"))
def replicas_of(service: Service, n: int, version: str) -> None:
    versions = service.versions()
    if versions != [version] * n:
        raise DrillError(f"expected {n} replicas of {version} behind the router, found {versions}")


@when(parsers.parse("{version} is rolled out replica by replica"))
@performs("service.roll_out", version="{version}")
def roll_out(drill: Drill, service: Service, version: str) -> None:
    steps = drill.apply(service.roll_out(version))
    drill.evidence.attach_json(f"roll steps: {version}", steps)


def releases(drill: Drill) -> list[Op]:
    return drill.operations(FAULT, RELEASE)


@when(parsers.parse("the release is rolled back to {version}"))
@reverts("service.roll_out", version="{version}")
def roll_back(drill: Drill, service: Service, version: str) -> None:
    rolled = releases(drill)
    if not rolled:
        raise MissingStep(f"no release to roll back: add {ROLL_OUT!r} before this step")
    previous = rolled[-1].value.get("previous")
    if previous != version:
        raise DrillError(f"the release replaced {previous}, not {version}: roll back to {previous}")
    drill.restore(RELEASE)
    drill.evidence.attach_json("versions after the rollback", service.versions())


def rollbacks(drill: Drill) -> list[Op]:
    return drill.operations(RESTORE, RELEASE)


def contract_check(drill: Drill, service: Service, name: str) -> CheckResult:
    result = replay(drill.feature.parent / "data" / f"{name}.jsonl", service.url)
    drill.evidence.attach_json(f"contract replay: {name}", result.as_dict())
    return result


@given(parsers.parse('the contract corpus "{name}" passes 100%'))
@when(parsers.parse('the contract corpus "{name}" passes 100%'))
def contract_passes(drill: Drill, service: Service, name: str) -> None:
    drill.verdict(contract_check(drill, service, name))


@given(parsers.parse('the contract corpus "{name}" fails'))
@when(parsers.parse('the contract corpus "{name}" fails'))
def contract_fails(drill: Drill, service: Service, name: str) -> None:
    """The replay detects the break: passes when some sample is answered differently."""
    drill.verdict(break_detected(contract_check(drill, service, name)))


@then(parsers.parse("the rollback took at most {limit:g} {unit}"))
def rollback_took(drill: Drill, limit: float, unit: str) -> None:
    done = rollbacks(drill)
    if not done:
        raise MissingStep(f"no rollback: add {ROLL_BACK!r} before this step")
    drill.verdict(duration_check("rollback", done[-1].end - done[-1].start, limit, unit))


@then(
    parsers.parse(
        "a spot check of {n:d} lookups drawn at random after the rollback finds each answered "
        "with a definition and an example"
    )
)
def rolled_back_spot_check(
    drill: Drill, draw_seed: int, progress: Callable[[str], None], n: int
) -> None:
    """Seed 4.3 for June: what clients got once the rollback was done, drawn from the probes'
    own lookups rather than the contract corpus, each judged on the fields the break renamed."""
    done = rollbacks(drill)
    if not done:
        raise MissingStep(f"no rollback: add {ROLL_BACK!r} before this step")
    window = (done[-1].end, drill.frozen_at or time.time())
    lookups_spot_check(drill, progress, draw_seed, n, ROLLED_BACK_SAMPLE, window, answer_problem)


@then("no request failed during the rolling steps")
def none_failed_while_rolling(drill: Drill) -> None:
    """SLA 100% inside the rollout and inside the rollback: each a verdict of its own, both
    recorded before the step fails for either."""
    windows = [("roll", op) for op in releases(drill)[-1:]]
    windows += [("rollback", op) for op in rollbacks(drill)[-1:]]
    if not windows:
        raise MissingStep(f"no rolling step in this scenario: add {ROLL_OUT!r} before this step")
    failed: list[CheckFailed] = []
    for window, op in windows:
        result = sla(drill.history, 100.0, start=op.start, end=op.end)
        try:
            drill.verdict(dataclasses.replace(result, name=f"SLA {window}"))
        except CheckFailed as exc:
            failed.append(exc)
    if failed:
        raise CheckFailed("; ".join(str(exc) for exc in failed))
