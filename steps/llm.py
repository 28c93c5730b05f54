"""The LLM dependency (Doubao) and the adapter's circuit breaker and degradation.

The fault window is read from the history: from T0 (the first fault on the `llm` link) to the
restore that ended it. The breaker's transitions are the service's own record, read from the
live service when observed.
"""

from __future__ import annotations

from pytest_bdd import parsers, then

from drillbook.capabilities import Service
from drillbook.checks import degraded_answers, duration_check
from drillbook.conditions import Poll, condition
from drillbook.drill import Drill, MissingStep
from drillbook.workload import Op

LOOKUPS = "probe:/lookup"


def full_answer(op: Op) -> bool:
    """A lookup answered 200 with the full payload, not the degraded one."""
    flags = op.value if isinstance(op.value, dict) else {}
    return op.outcome == "ok" and flags.get("degraded") is False


@condition("the LLM circuit breaker is {state}")
def breaker_state(drill: Drill, service: Service, state: str) -> Poll:
    def poll() -> tuple[bool, str]:
        current = service.llm_breaker()["state"]
        return current == state, f"breaker {current}"

    return poll


@condition("lookups are answered in full again")
def full_answers(drill: Drill) -> Poll:
    """The last probed lookup was a full answer; after a fault, that is the recovery."""

    def poll() -> tuple[bool, str]:
        lookups = drill.history.ops(process=LOOKUPS)
        if not lookups:
            return False, "no lookup probed yet"
        last = lookups[-1]
        full = full_answer(last)
        if full:
            drill.recovered(last.start)
        flags = last.value if isinstance(last.value, dict) else None
        return full, f"last lookup {last.outcome}, {flags or last.error}"

    return poll


@then("every lookup during the fault was answered with the degraded payload")
def all_degraded(drill: Drill) -> None:
    start, end = drill.fault_window()
    drill.verdict(degraded_answers(drill.history, LOOKUPS, start, end))


@then(parsers.parse("the LLM circuit breaker opened within {limit:g} {unit} of the fault"))
def breaker_opened(drill: Drill, service: Service, limit: float, unit: str) -> None:
    t0 = drill.require_t0()
    breaker = service.llm_breaker()
    drill.evidence.attach_json("GET /admin/llm", breaker)
    opened = [t["at"] for t in breaker["transitions"] if t["to"] == "open" and t["at"] >= t0]
    took = min(opened) - t0 if opened else None
    drill.verdict(duration_check("breaker opened", took, limit, unit))


@then(parsers.parse("full answers returned within {limit:g} {unit} of the restore"))
def full_answers_back(drill: Drill, limit: float, unit: str) -> None:
    restored = drill.restored_at()
    if restored is None:
        raise MissingStep(
            "the fault was never restored: add 'When the network to \"llm\" is restored' "
            "before this step"
        )
    lookups = drill.history.ops(process=LOOKUPS)
    full = [op.start for op in lookups if op.start >= restored and full_answer(op)]
    took = min(full) - restored if full else None
    drill.verdict(duration_check("full answers back", took, limit, unit))
