"""The LLM dependency (Doubao) and the adapter's circuit breaker and degradation.

The fault window is the `llm` link's own, read from the history: from the first fault on that
link to the restore that ended it, whatever other fault the scenario injects. The breaker's
transitions are the service's own record, read once from the live service by the first Then
that needs them.
"""

from __future__ import annotations

from collections.abc import Callable

from pytest_bdd import parsers, then

from drillbook.capabilities import Network, Service
from drillbook.checks import degraded_answers, duration_check
from drillbook.checks.degradation import begun_and_answered, degraded_payload_problem
from drillbook.checks.result import clock
from drillbook.conditions import Poll, condition
from drillbook.drill import Drill, MissingStep
from drillbook.spot_check import SampleCheck
from drillbook.workload import Op, answer_flag
from steps import spot_check_sample

LOOKUPS = "probe:/lookup"
# The network link to the LLM provider.
LLM = "llm"
FAULT_STEP = 'When "llm" answers N ms late'
RESTORE_STEP = 'When the network to "llm" is restored'
DEGRADED_SAMPLE = SampleCheck(
    check="lookups without the degraded payload",
    unit="lookups",
    item="熔断降级抽查",
    drawn="故障期间的查询",
    right="为基础释义 + 模板例句",
)


def full_answer(op: Op) -> bool:
    """A lookup answered 200 with the full payload, not the degraded one."""
    return op.outcome == "ok" and answer_flag(op, "degraded") is False


@condition("the LLM circuit breaker is {state}")
def breaker_state(drill: Drill, service: Service, state: str) -> Poll:
    def poll() -> tuple[bool, str]:
        current = service.llm_breaker()["state"]
        return current == state, f"breaker {current}"

    return poll


@condition("the LLM circuit breaker has opened")
def breaker_has_opened(drill: Drill, service: Service, network: Network) -> Poll:
    """Some replica's breaker opened after the fault on the LLM link, as January's check reads
    it: with one client calling in turn, a replica the router sends no lookup to has nothing
    to trip on, so every replica being open at once is not the measure."""
    faulted = llm_fault_at(drill, network)

    def poll() -> tuple[bool, str]:
        breaker = service.llm_breaker()
        return bool(openings(breaker, faulted)), f"breaker {breaker['state']}, not opened yet"

    return poll


def llm_fault_at(drill: Drill, network: Network) -> float:
    faulted = drill.t0_of(network.target(LLM))
    if faulted is None:
        raise MissingStep(f"no fault on the {LLM} link: add one ({FAULT_STEP!r}) before this step")
    return faulted


def openings(breaker: dict, since: float) -> list[float]:
    """When any replica's breaker opened at or after `since`."""
    return [t["at"] for t in breaker["transitions"] if t["to"] == "open" and t["at"] >= since]


@condition("lookups are answered in full again")
def full_answers(drill: Drill) -> Poll:
    """The last probed lookup was a full answer; after a fault, that is the recovery."""

    def poll() -> tuple[bool, str]:
        lookups = drill.history.ops(process=LOOKUPS)
        if not lookups:
            return False, "no lookup probed yet"
        last = lookups[-1]
        restored = drill.restored_at()
        if restored is not None and last.start < restored:
            # begun while a fault was being reverted: it may have met either state, and the
            # checks of the return count only lookups begun after the restore
            return False, "last lookup begun before the last restore ended"
        full = full_answer(last)
        if full:
            drill.recovered(last.start)
        flags = last.value if isinstance(last.value, dict) else None
        return full, f"last lookup {last.outcome}, {flags or last.error}"

    return poll


@then("every lookup during the fault was answered with the degraded payload")
def all_degraded(drill: Drill, network: Network) -> None:
    start, end = drill.fault_window(network.target(LLM))
    drill.verdict(degraded_answers(drill.history, LOOKUPS, start, end))


@then(
    parsers.parse(
        "a spot check of {n:d} lookups drawn at random from the fault finds each a basic "
        "definition with a template example"
    )
)
def degraded_spot_check(
    drill: Drill, network: Network, draw_seed: int, progress: Callable[[str], None], n: int
) -> None:
    """Seed 4.3 for January (100% 返回基础释义 + 模板例句): lookups begun and answered while
    the LLM link was faulty, each judged on what its answer carried, not only on its degraded
    flag."""
    start, end = drill.fault_window(network.target(LLM))
    lookups_spot_check(
        drill, progress, draw_seed, n, DEGRADED_SAMPLE, (start, end), degraded_payload_problem
    )


def lookups_spot_check(
    drill: Drill,
    progress: Callable[[str], None],
    seed: int,
    n: int,
    spec: SampleCheck,
    window: tuple[float, float],
    verify: Callable[[Op], str | None],
) -> None:
    """A spot check of `n` of the probes' lookups begun and answered within `window`, each
    judged by `verify` on what its answer carried; named by the time each began."""
    ops = begun_and_answered(drill.history, LOOKUPS, *window)
    population = {f"{clock(op.start)} #{k}": op for k, op in enumerate(ops, 1)}
    spot_check_sample(drill, progress, seed, n, spec, population, verify)


@then(parsers.parse("the LLM circuit breaker opened within {limit:g} {unit} of the fault"))
def breaker_opened(
    drill: Drill, service: Service, network: Network, limit: float, unit: str
) -> None:
    faulted = llm_fault_at(drill, network)
    breaker = drill.observed("the LLM circuit breaker", service.llm_breaker)
    drill.evidence.attach_json("GET /admin/llm", breaker)
    opened = openings(breaker, faulted)
    took = min(opened) - faulted if opened else None
    drill.verdict(duration_check("breaker opened", took, limit, unit))


@then(parsers.parse("full answers returned within {limit:g} {unit} of the restore"))
def full_answers_back(drill: Drill, network: Network, limit: float, unit: str) -> None:
    restored = drill.require_restored(network.target(LLM), RESTORE_STEP)
    lookups = drill.history.ops(process=LOOKUPS)
    full = [op.start for op in lookups if op.start >= restored and full_answer(op)]
    took = min(full) - restored if full else None
    drill.verdict(duration_check("full answers back", took, limit, unit))
