from __future__ import annotations

import pytest

from drillbook.checks import lost_writes, rpo
from drillbook.workload import History, Op

T0 = 1_700_000_000.0


def writes(*specs: tuple[int, str, float]) -> History:
    """(id, outcome, acknowledgement time relative to T0); each write takes 10 ms."""
    history = History()
    for write_id, outcome, acked in specs:
        end = T0 + acked
        history.record(Op("writer", "write", end - 0.01, end, outcome, value=write_id))
    return history


def acked_before_t0(count: int) -> list[tuple[int, str, float]]:
    """Writes 1..count acknowledged one per second, the last one 1 s before T0."""
    return [(i, "ok", float(i - count - 1)) for i in range(1, count + 1)]


def test_all_writes_survived_recovery_point_is_the_last_ack():
    result = rpo(writes(*acked_before_t0(10)), T0, set(range(1, 11)), 300)
    assert result.passed
    assert result.figure == pytest.approx(1.0)
    assert result.details["lost_count"] == 0
    assert result.explanation.startswith("RPO 1.00 s ≤ 300 s: recovery point is write 10")


def test_a_lost_write_in_the_middle_puts_the_recovery_point_before_it():
    survivors = set(range(1, 11)) - {5}
    result = rpo(writes(*acked_before_t0(10)), T0, survivors, 300)
    assert result.figure == pytest.approx(7.0)  # write 4, acknowledged at T0-7 s
    assert result.details["recovery_point"] == pytest.approx(T0 - 7)
    assert result.details["lost_ids"] == [5]
    assert "recovery point is write 4" in result.explanation
    assert "1 of 10 writes acknowledged before T0 lost" in result.explanation


def test_rpo_beyond_threshold_fails():
    survivors = set(range(1, 11)) - {5}
    result = rpo(writes(*acked_before_t0(10)), T0, survivors, 5)
    assert not result.passed
    assert result.explanation.startswith("RPO 7.00 s > 5 s")


def test_indeterminate_writes_are_neither_lost_nor_durable():
    history = writes((1, "ok", -5.0), (2, "info", -4.0), (3, "ok", -3.0), (4, "info", -2.0))
    result = rpo(history, T0, {1, 3, 4}, 300)  # 2 is missing, 4 is there
    assert result.details["lost_count"] == 0
    assert result.details["indeterminate"] == 2
    assert result.figure == pytest.approx(3.0)  # write 3, not the indeterminate 4


def test_writes_acknowledged_after_t0_do_not_count_for_rpo():
    history = writes(*acked_before_t0(3), (4, "ok", 2.0))
    assert rpo(history, T0, {1, 2, 3}, 300).details["lost_count"] == 0


def test_no_write_before_t0_means_rpo_zero():
    result = rpo(writes((1, "ok", 1.0)), T0, set(), 300)
    assert result.passed
    assert result.figure == 0.0
    assert "no write was acknowledged before T0" in result.explanation


def test_losing_the_first_write_counts_from_the_start_of_the_history():
    result = rpo(writes(*acked_before_t0(10)), T0, set(range(2, 11)), 300)
    assert result.figure == pytest.approx(10.01)
    assert "as write 1 is lost" in result.explanation


def test_lost_writes_fails_when_one_acknowledged_write_is_lost():
    history = writes((1, "ok", -2.0), (2, "ok", -1.0), (3, "ok", 1.0))
    result = lost_writes(history, {1, 2}, allowed=0)
    assert not result.passed
    assert result.figure == 1
    assert result.details["lost_ids"] == [3]
    assert result.explanation.startswith("1 of 3 acknowledged writes lost (ids 3) > 0 allowed")
    assert lost_writes(history, {1, 2}, allowed=1).passed


def test_lost_writes_lists_indeterminate_apart_and_ignores_definite_failures():
    history = writes((1, "ok", -2.0), (2, "info", -1.0), (3, "fail", 0.5), (4, "info", 1.0))
    result = lost_writes(history, {1, 4})
    assert result.passed
    assert result.figure == 0
    assert result.details["indeterminate_ids"] == [2, 4]
    assert result.details["indeterminate_survived"] == 1
    assert "2 indeterminate writes are not counted" in result.explanation
