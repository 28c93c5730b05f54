"""The LLM circuit breaker as a state machine, driven by an injected clock."""

from __future__ import annotations

import asyncio

import pytest

from reference.config import BreakerConfig
from reference.llm import CircuitBreaker, CircuitOpen, LlmRejected, LlmTimeout, LlmUnavailable

CONFIG = BreakerConfig(failure_threshold=3, window_s=10.0, open_s=2.0, half_open_probes=1)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def breaker(clock: Clock) -> CircuitBreaker:
    return CircuitBreaker(CONFIG, clock=clock, wall=clock)


def fail(breaker: CircuitBreaker, times: int = 1) -> None:
    for _ in range(times):
        breaker.record_failure(breaker.admit())


def open_breaker(breaker: CircuitBreaker) -> None:
    fail(breaker, CONFIG.failure_threshold)
    assert breaker.state == "open"


def test_opens_at_the_threshold_and_not_before(breaker: CircuitBreaker, clock: Clock) -> None:
    fail(breaker, 2)
    assert breaker.state == "closed" and breaker.snapshot()["failures"] == 2
    clock.advance(1.0)
    fail(breaker)
    snapshot = breaker.snapshot()
    assert (snapshot["state"], snapshot["opened_at"], snapshot["failures"]) == ("open", 1001.0, 3)
    assert snapshot["transitions"][-1]["to"] == "open"


def test_fails_fast_without_calling_while_open(breaker: CircuitBreaker, clock: Clock) -> None:
    open_breaker(breaker)
    calls = []

    async def llm() -> str:
        calls.append(1)
        return "answer"

    clock.advance(CONFIG.open_s - 0.01)
    with pytest.raises(CircuitOpen):
        asyncio.run(breaker.call(llm))
    assert calls == [] and breaker.state == "open"


def test_half_open_success_closes(breaker: CircuitBreaker, clock: Clock) -> None:
    open_breaker(breaker)
    clock.advance(CONFIG.open_s)
    assert breaker.state == "half_open"

    async def llm() -> str:
        return "answer"

    assert asyncio.run(breaker.call(llm)) == "answer"
    snapshot = breaker.snapshot()
    assert (snapshot["state"], snapshot["opened_at"], snapshot["failures"]) == ("closed", None, 0)
    path = [(t["from"], t["to"]) for t in snapshot["transitions"]]
    assert path == [("closed", "open"), ("open", "half_open"), ("half_open", "closed")]
    # half-open is reported when open_s ended, not when the next call came
    assert snapshot["transitions"][1]["at"] == snapshot["transitions"][0]["at"] + CONFIG.open_s


def test_half_open_failure_reopens_for_another_open_s(
    breaker: CircuitBreaker, clock: Clock
) -> None:
    open_breaker(breaker)
    clock.advance(CONFIG.open_s + 0.5)

    async def timing_out() -> str:
        raise LlmTimeout("no completion")

    with pytest.raises(LlmTimeout):
        asyncio.run(breaker.call(timing_out))
    assert breaker.state == "open" and breaker.snapshot()["opened_at"] == clock.now
    clock.advance(CONFIG.open_s - 0.01)
    with pytest.raises(CircuitOpen):
        breaker.admit()
    clock.advance(0.01)
    assert breaker.state == "half_open"


def test_half_open_admits_only_the_configured_probes(breaker: CircuitBreaker, clock: Clock) -> None:
    open_breaker(breaker)
    clock.advance(CONFIG.open_s)
    probe = breaker.admit()
    with pytest.raises(CircuitOpen):
        breaker.admit()
    breaker.release(probe)  # e.g. the client went away: the slot is free again
    breaker.record_success(breaker.admit())
    assert breaker.state == "closed"


def test_failures_outside_the_window_do_not_count(breaker: CircuitBreaker, clock: Clock) -> None:
    fail(breaker, 2)
    clock.advance(CONFIG.window_s)
    fail(breaker)
    assert breaker.state == "closed" and breaker.snapshot()["failures"] == 1
    clock.advance(CONFIG.window_s - 0.1)
    fail(breaker)
    assert breaker.state == "closed"
    fail(breaker)
    assert breaker.state == "open"


def test_outcome_of_a_call_admitted_before_a_transition_is_ignored(
    breaker: CircuitBreaker, clock: Clock
) -> None:
    slow = breaker.admit()
    open_breaker(breaker)
    clock.advance(CONFIG.open_s)
    probe = breaker.admit()
    breaker.record_success(slow)
    assert breaker.state == "half_open"
    breaker.record_failure(probe)
    assert breaker.state == "open"


def test_only_unavailability_counts_as_failure(breaker: CircuitBreaker) -> None:
    async def rejected() -> str:
        raise LlmRejected("HTTP 400")

    async def unavailable() -> str:
        raise LlmUnavailable("HTTP 503")

    for _ in range(CONFIG.failure_threshold):
        with pytest.raises(LlmRejected):
            asyncio.run(breaker.call(rejected))
    assert breaker.state == "closed"
    for _ in range(CONFIG.failure_threshold):
        with pytest.raises(LlmUnavailable):
            asyncio.run(breaker.call(unavailable))
    assert breaker.state == "open"


def test_disabled_breaker_always_calls_and_never_opens(clock: Clock) -> None:
    breaker = CircuitBreaker(BreakerConfig(enabled=False), clock=clock, wall=clock)
    fail(breaker, 10)
    assert breaker.snapshot() == {
        "state": "disabled",
        "opened_at": None,
        "failures": 0,
        "transitions": [],
    }


def test_keeps_the_last_twenty_transitions(breaker: CircuitBreaker, clock: Clock) -> None:
    fail(breaker, CONFIG.failure_threshold)
    for _ in range(15):
        clock.advance(CONFIG.open_s)
        fail(breaker)  # half_open probe fails: open again
    transitions = breaker.snapshot()["transitions"]
    assert len(transitions) == 20
    assert [t["at"] for t in transitions] == sorted(t["at"] for t in transitions)
