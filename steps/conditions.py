"""Deadline-bounded waits in Gherkin: `within N seconds <condition>`.

A condition is a registered sentence whose function returns a poll: a callable giving (done,
what was observed). The wait prints a progress line at least every 5 s, fails at the deadline
with the last observation, and records how long it took. A scenario naming an unknown
condition fails before its first step, like an unknown step.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import parse
import pytest
from pytest_bdd import given, parsers, then, when
from pytest_bdd.parser import Feature, Scenario

from drillbook.drill import Drill
from drillbook.profile import Profile
from drillbook.waits import wait_until
from steps import probe_process, rto_now

Poll = Callable[[], tuple[bool, Any]]
CONDITIONS: list[tuple[str, parse.Parser, Callable[..., Poll]]] = []
WITHIN = parse.compile("within {seconds:g} seconds {condition}")


def condition(pattern: str) -> Callable[[Callable[..., Poll]], Callable[..., Poll]]:
    """Register `pattern` (parse syntax) as a condition a `within` step can wait for."""

    def register(func: Callable[..., Poll]) -> Callable[..., Poll]:
        CONDITIONS.append((pattern, parse.compile(pattern), func))
        return func

    return register


def resolve(text: str) -> tuple[Callable[..., Poll], dict[str, Any]]:
    for _pattern, parser, func in CONDITIONS:
        match = parser.parse(text)
        if match is not None:
            return func, match.named
    known = "\n".join(f"  {pattern}" for pattern, _parser, _func in CONDITIONS)
    raise LookupError(f"unknown condition {text!r}; known conditions:\n{known}")


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
