"""Deadline-bounded waits in Gherkin: `within N seconds <condition>`.

A condition is a registered sentence (drillbook.conditions) whose function returns a poll. The
wait prints a progress line at least every 5 s, fails at the deadline
with the last observation, and records how long it took. A scenario naming an unknown
condition fails before its first step, like an unknown step.
"""

from __future__ import annotations

import parse
import pytest
from pytest_bdd import given, parsers, then, when
from pytest_bdd.parser import Feature, Scenario

from drillbook.conditions import Poll, condition, resolve
from drillbook.drill import Drill
from drillbook.profile import Profile
from drillbook.waits import wait_until
from steps import probe_process, rto_now

WITHIN = parse.compile("within {seconds:g} seconds {condition}")


def pytest_bdd_before_scenario(
    request: pytest.FixtureRequest, feature: Feature, scenario: Scenario
) -> None:
    for step in scenario.steps:
        match = WITHIN.parse(step.name)
        if match is not None:
            try:
                resolve(match["condition"])
            except LookupError as exc:
                raise LookupError(f"{feature.filename}:{step.line_number}: {exc}") from None


@given(parsers.parse("within {seconds:g} seconds {condition}"))
@when(parsers.parse("within {seconds:g} seconds {condition}"))
@then(parsers.parse("within {seconds:g} seconds {condition}"))
def within(
    request: pytest.FixtureRequest, drill: Drill, progress, seconds: float, condition: str
) -> None:
    func, kwargs = resolve(condition)
    waited = wait_until(condition, func(request, drill, **kwargs), seconds, progress=progress)
    drill.evidence.attach_json(
        f"wait: within {seconds:g} seconds {condition}",
        {
            "condition": condition,
            "limit_s": seconds,
            "took_s": waited.elapsed_s,
            "last_observed": str(waited.last),
        },
    )


@condition("the probes succeed again")
def probes_succeed_again(request: pytest.FixtureRequest, drill: Drill) -> Poll:
    """Recovered as the RTO check defines it; the recovery instant becomes the drill's T1."""
    return recovery_poll(request, drill, "probe:")


@condition('the probes of "{path}" succeed again')
def endpoint_succeeds_again(request: pytest.FixtureRequest, drill: Drill, path: str) -> Poll:
    """One endpoint recovered: its own window of requests is back over the target."""
    return recovery_poll(request, drill, probe_process(path))


def recovery_poll(request: pytest.FixtureRequest, drill: Drill, prefix: str) -> Poll:
    profile: Profile = request.getfixturevalue("dr_profile")

    def poll() -> tuple[bool, str]:
        result = rto_now(drill, profile, threshold_s=float("inf"), prefix=prefix)
        if result.figure is not None:
            drill.recovered_at = max(drill.recovered_at or 0.0, result.details["recovered_at"])
        return result.figure is not None, result.explanation

    return poll
