"""The LLM dependency (Doubao) and the adapter's circuit breaker and degradation."""

from __future__ import annotations

import pytest
from pytest_bdd import parsers, then

from drillbook.checks import degraded_answers, duration_check
from drillbook.conditions import Poll, condition
from drillbook.drill import Drill
from drillbook.stack import LocalStack


@condition("the LLM circuit breaker is {state}")
def breaker_state(request: pytest.FixtureRequest, drill: Drill, state: str) -> Poll:
    environment: LocalStack = request.getfixturevalue("environment")

    def poll() -> tuple[bool, str]:
        current = environment.service.llm_breaker()["state"]
        return current == state, f"breaker {current}"

    return poll


@condition("lookups are answered in full again")
def full_answers(request: pytest.FixtureRequest, drill: Drill) -> Poll:
    def poll() -> tuple[bool, str]:
        lookups = drill.history.ops(process="probe:/lookup")
        if not lookups:
            return False, "no lookup probed yet"
        last = lookups[-1]
        flags = last.value if isinstance(last.value, dict) else {}
        full = last.outcome == "ok" and flags.get("degraded") is False
        if full and drill.t0 is not None:
            drill.recovered_at = drill.recovered_at or last.start
        return full, f"last lookup {last.outcome}, {flags or last.error}"

    return poll


@then("every lookup during the fault was answered with the degraded payload")
def all_degraded(drill: Drill) -> None:
    start, end = drill.fault_window()
    drill.check(degraded_answers(drill.history, "probe:/lookup", start, end))


@then(parsers.parse("the LLM circuit breaker opened within {limit:g} {unit} of the fault"))
def breaker_opened(drill: Drill, environment: LocalStack, limit: float, unit: str) -> None:
    breaker = environment.service.llm_breaker()
    drill.evidence.attach_json("GET /admin/llm", breaker)
    t0 = drill.require_t0()
    opened = [t["at"] for t in breaker["transitions"] if t["to"] == "open" and t["at"] >= t0]
    took = min(opened) - t0 if opened else None
    drill.check(duration_check("breaker opened", took, limit, unit))


@then(parsers.parse("full answers returned within {limit:g} {unit} of the restore"))
def full_answers_back(drill: Drill, limit: float, unit: str) -> None:
    _, restored = drill.fault_window()
    full = [
        op.start
        for op in drill.history.ops(process="probe:/lookup")
        if op.start >= restored and op.outcome == "ok" and (op.value or {}).get("degraded") is False
    ]
    took = min(full) - restored if full else None
    drill.check(duration_check("full answers back", took, limit, unit))
