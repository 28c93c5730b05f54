from __future__ import annotations

import pytest

from drillbook.checks import lost_writes, rpo, rpo_lag
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


def lag_samples(*specs: tuple[float, dict], outcome: str = "ok") -> History:
    """(completion time relative to T0, sample value); each sample takes 5 ms."""
    history = History()
    for at, value in specs:
        end = T0 + at
        history.record(Op("lag:az-b", "sample", end - 0.005, end, outcome, value=value))
    return history


def sample(
    delay: float | None, replay_lag: float | None = None, sent_bytes: int | None = None
) -> dict:
    value: dict = {"standby_replay_delay_s": delay, "standby_receive_replay_bytes": 0}
    if sent_bytes is not None:
        value |= {
            "streaming": True,
            "primary_replay_lag_s": replay_lag,
            "primary_sent_replay_bytes": sent_bytes,
        }
    return value


def test_rpo_lag_takes_the_primary_replay_lag_of_the_last_sample_before_t0():
    history = lag_samples(
        (-2.0, sample(30.0, 0.8, 4096)),
        (-1.0, sample(31.0, 0.05, 0)),
        (1.0, sample(32.0, 9.0, 100)),  # after T0: ignored
    )
    result = rpo_lag(history, T0, 5)
    assert result.passed
    assert result.name == "RPO (replication lag)"
    assert result.figure == pytest.approx(0.05)
    assert result.details["definition"].startswith("pg_stat_replication.replay_lag")
    assert result.details["max_lag_before_t0_s"] == pytest.approx(0.8)
    assert result.details["max_sent_replay_bytes"] == 4096
    assert result.details["samples_before_t0"] == 2


def test_rpo_lag_of_a_caught_up_idle_standby_is_zero_despite_its_growing_replay_delay():
    result = rpo_lag(lag_samples((-1.0, sample(120.0, None, 0))), T0, 5)
    assert result.passed
    assert result.figure == 0.0


def test_rpo_lag_falls_back_to_the_standby_replay_delay():
    history = lag_samples((-1.0, {**sample(7.5), "standby_receive_replay_bytes": 65536}))
    result = rpo_lag(history, T0, 5)
    assert not result.passed
    assert result.figure == pytest.approx(7.5)
    assert result.details["definition"].startswith("now() - pg_last_xact_replay_timestamp()")
    assert result.details["max_receive_replay_bytes"] == 65536
    assert result.explanation.startswith("RPO (replication lag) 7.50 s > 5 s")


def test_rpo_lag_above_threshold_fails():
    result = rpo_lag(lag_samples((-0.5, sample(0.0, 6.0, 1 << 20))), T0, 5)
    assert not result.passed
    assert result.figure == pytest.approx(6.0)


def test_rpo_lag_ignores_failed_samples_and_fails_without_a_sample_before_t0():
    history = lag_samples((-1.0, sample(None)), outcome="fail")
    history.record(Op("lag:az-b", "sample", T0 + 1, T0 + 1.01, "ok", value=sample(0.1)))
    result = rpo_lag(history, T0, 5)
    assert not result.passed
    assert result.figure is None
    assert "no successful lag sample (lag:*)" in result.explanation


def test_rpo_lag_fails_when_the_standby_has_replayed_nothing_yet():
    result = rpo_lag(lag_samples((-1.0, sample(None))), T0, 5)
    assert not result.passed
    assert result.figure is None
    assert "none of the 1 successful lag sample" in result.explanation
