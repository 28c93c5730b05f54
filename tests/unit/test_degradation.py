from __future__ import annotations

import httpx

from drillbook.checks import degraded_answers
from drillbook.checks.degradation import (
    answer_problem,
    begun_and_answered,
    degraded_payload_problem,
    full_answers_from,
)
from drillbook.workload import History, Op
from drillbook.workload.probes import answer_flags

T0 = 1_700_000_000.0


def lookups(*answers: tuple[str, object]) -> History:
    history = History()
    for i, (outcome, value) in enumerate(answers):
        start = T0 + i / 10
        history.record(Op("probe:/lookup", "GET /lookup", start, start + 0.01, outcome, value))
    return history


DEGRADED = ("ok", {"degraded": True, "reason": "llm_circuit_open"})
FULL = ("ok", {"degraded": False, "reason": None})


def test_every_answer_degraded_passes():
    result = degraded_answers(lookups(*[DEGRADED] * 20), "probe:/lookup", T0, T0 + 10)
    assert result.passed and result.figure == 100.0
    assert result.explanation.startswith("20 of 20 requests probe:/lookup")


def test_one_full_answer_during_the_fault_fails():
    result = degraded_answers(lookups(*[DEGRADED] * 19, FULL), "probe:/lookup", T0, T0 + 10)
    assert not result.passed and result.figure == 95.0
    assert "19 of 20" in result.explanation and "< 100%" in result.explanation


def test_a_server_error_is_not_a_degraded_answer():
    result = degraded_answers(lookups(DEGRADED, ("fail", None)), "probe:/lookup", T0, T0 + 10)
    assert not result.passed
    assert result.details["first_not_degraded"][0]["outcome"] == "fail"


def test_a_full_answer_to_a_request_in_flight_when_the_fault_ended_is_not_the_faults():
    # the last lookup begins 5 ms before the restore and is answered 5 ms after it
    history = lookups(*[DEGRADED] * 19, FULL)
    end = T0 + 1.905
    assert degraded_answers(history, "probe:/lookup", T0, end).passed
    assert not degraded_answers(history, "probe:/lookup", T0, end + 0.01).passed


def test_no_request_in_the_window_is_not_measured():
    result = degraded_answers(lookups(DEGRADED), "probe:/lookup", T0 + 50, T0 + 60)
    assert result.verdict == "not measured" and not result.passed and result.figure is None
    assert result.shown == "not measured"
    assert result.explanation.startswith(
        "degraded answers not measured: no request of probe:/lookup* was begun and answered from"
    )


TOKYO = "ap-northeast-1"


def in_region(answer: tuple[str, object], region: str) -> tuple[str, object]:
    outcome, value = answer
    return outcome, {**value, "region": region}


def test_the_regions_answers_all_full_pass_whatever_the_other_region_said():
    history = lookups(
        in_region(DEGRADED, "ap-southeast-1"), ("fail", None), *[in_region(FULL, TOKYO)] * 5
    )
    result = full_answers_from(history, "probe:/lookup", TOKYO, T0)
    assert result.passed and result.figure == 100.0
    assert result.explanation.startswith("5 of the 5 answers ap-northeast-1 gave")


def test_a_degraded_answer_from_the_region_fails():
    history = lookups(*[in_region(FULL, TOKYO)] * 3, in_region(DEGRADED, TOKYO))
    result = full_answers_from(history, "probe:/lookup", TOKYO, T0)
    assert not result.passed and result.figure == 75.0
    assert "1 were degraded" in result.explanation and "llm_circuit_open" in result.explanation


def test_a_region_that_answered_nothing_is_not_measured_naming_who_did():
    history = lookups(*[in_region(FULL, "ap-southeast-1")] * 3, FULL)
    result = full_answers_from(history, "probe:/lookup", TOKYO, T0)
    assert result.verdict == "not measured"
    assert "answered by: ap-southeast-1" in result.explanation


PAYLOAD = {"degraded": True, "reason": "llm_timeout", "definition": True, "example": True}


def answered(outcome: str, value: object) -> Op:
    return Op("probe:/lookup", "GET /lookup", 1.0, 1.5, outcome, value)


def test_a_degraded_answer_with_definition_and_template_example_is_the_payload():
    assert degraded_payload_problem(answered("ok", {**PAYLOAD, "ai_example": False})) is None


def test_each_way_an_answer_misses_the_degraded_payload():
    cases = {
        "not answered: info": answered("info", None),
        "a full answer, not the degraded payload": answered("ok", {**PAYLOAD, "degraded": False}),
        "degraded without a definition": answered("ok", {**PAYLOAD, "definition": False}),
        "degraded without a definition or an example": answered(
            "ok", {"degraded": True, "reason": "llm_timeout"}
        ),
        "degraded, yet with a generated example": answered("ok", {**PAYLOAD, "ai_example": True}),
    }
    for problem, op in cases.items():
        assert degraded_payload_problem(op) == problem


def test_a_usable_answer_has_a_definition_and_an_example_degraded_or_not():
    assert answer_problem(answered("ok", {**PAYLOAD, "degraded": False})) is None
    assert answer_problem(answered("ok", PAYLOAD)) is None
    renamed = {"degraded": False, "example": True}  # v2's break: `meaning` for `definition`
    assert answer_problem(answered("ok", renamed)) == "answered without a definition"
    assert answer_problem(answered("fail", None)) == "not answered: fail"
    assert answer_problem(answered("ok", None)) == "answered without a definition or an example"


def test_the_faults_own_lookups_were_begun_and_answered_inside_it():
    history = History()
    for start, end in ((0.5, 1.2), (1.5, 1.6), (2.9, 3.2)):
        history.record(Op("probe:/lookup", "GET /lookup", start, end, "ok", PAYLOAD))
    assert [op.start for op in begun_and_answered(history, "probe:/lookup", 1.0, 3.0)] == [1.5]


def test_a_probe_keeps_what_the_answer_carried():
    body = {"word": "w", "definition": "basic definition of w", "example": "template example"}
    degraded = httpx.Response(200, json={**body, "degraded": True, "degraded_reason": "llm_error"})
    assert answer_flags(degraded) == {**PAYLOAD, "reason": "llm_error", "ai_example": False}
    full = httpx.Response(
        200, json={**body, "degraded": False, "ai_example": "x", "source": "db"},
        headers={"X-Region": "ap-southeast-1"},
    )  # fmt: skip
    assert answer_flags(full) == {
        "degraded": False, "reason": None, "definition": True, "example": True,
        "ai_example": True, "source": "db", "region": "ap-southeast-1",
    }  # fmt: skip
