"""A scenario in parts: the parts its marker steps declare, which passed the first time, which
failed, which were not reached; and the figure over them."""

from __future__ import annotations

import pytest

from drillbook.checks.duration import to_seconds
from drillbook.parts import (
    FAILED,
    INTERRUPTED,
    NOT_REACHED,
    PASSED,
    Part,
    declared_parts,
    every_part_first_time,
    part_outcomes,
)

PARTS = [Part("熔断", 20), Part("PITR", 28), Part("发布回滚", 33)]


def outcomes(failed_line=None, interrupted_line=None) -> list[str]:
    return [o["outcome"] for o in part_outcomes(PARTS, failed_line, interrupted_line)]


def test_the_marker_steps_declare_the_parts_before_any_runs():
    steps = [
        (14, "the service runs 2 replicas of v1"),
        (20, 'the part "熔断" of the rehearsal begins'),
        (21, '"llm" answers 1500 ms late'),
        (28, 'the part "PITR" of the rehearsal begins'),
    ]
    assert declared_parts(steps) == [Part("熔断", 20), Part("PITR", 28)]


def test_a_part_named_twice_is_refused_naming_both_lines():
    steps = [
        (20, 'the part "PITR" of the rehearsal begins'),
        (28, 'the part "PITR" of the rehearsal begins'),
    ]
    with pytest.raises(ValueError, match='"PITR" begins twice, at lines 20 and 28'):
        declared_parts(steps)


def test_no_step_raised_every_part_passed_the_first_time():
    assert outcomes() == [PASSED, PASSED, PASSED]
    result = every_part_first_time(part_outcomes(PARTS, None))
    assert result.passed and result.figure == 0
    assert "3 of 3 parts passed the first time" in result.explanation


def test_a_step_that_raised_fails_its_part_and_the_later_ones_are_not_reached():
    assert outcomes(failed_line=30) == [PASSED, FAILED, NOT_REACHED]
    assert outcomes(failed_line=20) == [FAILED, NOT_REACHED, NOT_REACHED]  # the marker itself
    assert outcomes(failed_line=40) == [PASSED, PASSED, FAILED]
    assert outcomes(failed_line=15) == [NOT_REACHED] * 3  # a Given before the first part
    result = every_part_first_time(part_outcomes(PARTS, 30))
    assert not result.passed and result.figure == 2
    assert "PITR failed, 发布回滚 not reached" in result.explanation


def test_a_drill_stopped_by_a_signal_is_interrupted_in_its_part():
    assert outcomes(interrupted_line=35) == [PASSED, PASSED, INTERRUPTED]
    assert outcomes(failed_line=22, interrupted_line=35)[0] == FAILED


def test_a_scenario_without_parts_is_not_measured():
    result = every_part_first_time([])
    assert not result.passed and not result.measured


def test_the_plan_states_the_rehearsal_in_hours():
    assert to_seconds(2, "hours") == 7200
