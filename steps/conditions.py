"""Deadline-bounded waits in Gherkin: `within N seconds <condition>`.

A condition is a registered sentence (drillbook.conditions) whose function returns a poll; it
asks for the drill and the capabilities it reads by parameter name, like a step. A wait is
part of acting on the drill: it is written before the first Then (which freezes the workload),
and a scenario naming an unknown condition fails before its first step, like an unknown step.
The wait prints a progress line at least every 5 s, fails at the deadline with the last
observation, and records how long it took.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable

import pytest
from pytest_bdd import given, parsers, then, when

from drillbook.bdd import WITHIN_STEP, acting
from drillbook.capabilities import CAPABILITIES
from drillbook.conditions import Poll, condition, resolve
from drillbook.drill import Drill
from drillbook.profile import Profile
from drillbook.waits import wait_until
from steps import probe_process, rto_now


@given(parsers.parse(WITHIN_STEP))
@when(parsers.parse(WITHIN_STEP))
@then(parsers.parse(WITHIN_STEP))  # only to refuse it by name
@acting
def within(
    request: pytest.FixtureRequest,
    drill: Drill,
    progress: Callable[[str], None],
    seconds: float,
    condition: str,
) -> None:
    func, kwargs = resolve(condition)
    for name in inspect.signature(func).parameters:
        if name in CAPABILITIES or name == "dr_profile":
            kwargs[name] = request.getfixturevalue(name)
    waited = wait_until(condition, func(drill=drill, **kwargs), seconds, progress=progress)
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
def probes_succeed_again(drill: Drill, dr_profile: Profile) -> Poll:
    """Recovered as the RTO check defines it; that instant is the drill's recovery."""
    return recovery_poll(drill, dr_profile, "probe:")


@condition('the probes of "{path}" succeed again')
def endpoint_succeeds_again(drill: Drill, dr_profile: Profile, path: str) -> Poll:
    """One endpoint recovered: its own window of requests is back over the target."""
    return recovery_poll(drill, dr_profile, probe_process(path))


def recovery_poll(drill: Drill, profile: Profile, prefix: str) -> Poll:
    def poll() -> tuple[bool, str]:
        result = rto_now(drill, profile, threshold_s=float("inf"), prefix=prefix)
        recovered = result.details.get("recovered_at")
        if recovered is not None:
            drill.recovered(recovered)
        return result.passed and result.measured, result.explanation

    return poll


@condition('the probes of "{path}" fail')
def endpoint_fails(drill: Drill, dr_profile: Profile, path: str) -> Poll:
    """The endpoint unreachable as its clients see it (runbook 5.1's trigger "a Redis node
    unreachable"): its last window of requests, by the profile's window size, all failed."""
    prefix, count = probe_process(path), dr_profile.workload["window_requests"]

    def poll() -> tuple[bool, str]:
        last = drill.history.ops(prefix=prefix)[-count:]
        failed = [op for op in last if op.outcome != "ok"]
        seen = f"{len(failed)} of the last {len(last)} requests of {prefix} failed"
        if failed:
            seen += f" (last error: {failed[-1].error})"
        return len(last) == count and len(failed) == count, seen

    return poll
