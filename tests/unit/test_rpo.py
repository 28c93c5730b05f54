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


def test_no_write_acknowledged_before_t0_is_not_measured():
    result = rpo(writes((1, "ok", 1.0), (2, "info", -1.0)), T0, set(), 300)
    assert result.verdict == "not measured"
    assert not result.passed
    assert result.figure is None
    assert result.explanation.startswith("RPO not measured: none of the 2 writes (writer*)")
    assert result.details["acked_before_t0"] == 0


def test_rpo_without_any_writer_op_is_not_measured():
    result = rpo(History(), T0, set(), 300)
    assert result.verdict == "not measured"
    assert not result.passed
    assert "no write (writer*) was recorded" in result.explanation


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


def test_lost_writes_without_any_writer_op_is_not_measured():
    result = lost_writes(History(), set())
    assert result.verdict == "not measured"
    assert not result.passed
    assert result.explanation == "lost writes not measured: no write (writer*) was recorded"


def test_lost_writes_with_only_failed_writes_is_not_measured():
    result = lost_writes(writes((1, "fail", -1.0)), set())
    assert result.verdict == "not measured" and not result.passed
    assert "none of the 1 writes (writer*) was acknowledged" in result.explanation


def lag_samples(*specs: tuple[float, dict], outcome: str = "ok") -> History:
    """(completion time relative to T0, sample value); each sample takes 5 ms."""
    history = History()
    for at, value in specs:
        end = T0 + at
        history.record(Op("lag:az-b", "sample", end - 0.005, end, outcome, value=value))
    return history


MB = 1024 * 1024


def sample(
    delay: float | None,
    replay_lag: float | None = None,
    sent_bytes: int | None = None,
    *,
    written_bytes: int | None = None,
    feedback_age: float | None = None,
    commit_ahead: float | None = None,
) -> dict:
    """A LagSampler value; with `sent_bytes`, the primary was sampled too. `commit_ahead`: how
    much later than the standby's last replayed transaction the primary last committed."""
    value: dict = {"standby_replay_delay_s": delay, "standby_receive_replay_bytes": 0}
    if sent_bytes is not None:
        replayed_at = T0 - 100
        value |= {
            "streaming": True,
            "primary_replay_lag_s": replay_lag,
            "primary_sent_replay_bytes": sent_bytes,
            "primary_feedback_age_s": feedback_age,
            "primary_written_standby_replay_bytes": written_bytes,
            "standby_last_replay_at": replayed_at if commit_ahead is not None else None,
            "primary_last_commit_at": (
                replayed_at + commit_ahead if commit_ahead is not None else None
            ),
        }
    return value


def test_rpo_lag_takes_the_primary_replay_lag_of_the_last_sample_before_t0():
    history = lag_samples(
        (-2.0, sample(30.0, 0.8, 4096)),
        (-1.0, sample(31.0, 0.05, 0, written_bytes=0, feedback_age=0.5)),
        (1.0, sample(32.0, 9.0, 100)),  # after T0: ignored
    )
    result = rpo_lag(history, T0, 5)
    assert result.passed
    assert result.name == "RPO (replication lag)"
    assert result.figure == pytest.approx(0.05)
    assert result.details["bound"] == "replay_lag"
    assert result.details["definition"].startswith("the primary's replay_lag")
    assert result.details["max_sent_replay_bytes"] == 4096
    assert result.details["samples_before_t0"] == 2
    assert "no WAL was waiting for the standby" in result.explanation


def test_rpo_lag_bounds_a_stalled_receiver_by_its_feedback_age_despite_a_stale_replay_lag():
    # Observed: WAL receiver stopped (SIGSTOP) 3 s before the primary was killed; replay_lag
    # kept 0.002 s while 3.1 MB was sent but not replayed and 2.96 s of writes were lost.
    stalled = sample(
        2.95, 0.002, int(3.1 * MB), written_bytes=int(3.4 * MB), feedback_age=3.0, commit_ahead=2.9
    )
    result = rpo_lag(lag_samples((-0.05, stalled)), T0, 1)
    assert not result.passed
    assert result.verdict == "fail"
    assert result.figure >= 2.9
    assert result.figure == pytest.approx(3.0)
    assert result.details["bound"] == "feedback_age"
    assert result.details["bounds"] == {
        "replay_lag": 0.002,
        "feedback_age": 3.0,
        "standby_replay_delay": 2.95,
    }
    assert result.details["outstanding_bytes"] == int(3.4 * MB)
    assert result.details["commit_outstanding"] is True
    assert result.explanation.startswith(
        "RPO (replication lag) 3.00 s > 1 s: bounded by the age of the standby's last feedback"
    )
    assert "3.4 MB of WAL written on the primary was not replayed" in result.explanation
    assert "also replay lag 0.00 s, standby replay delay 2.95 s" in result.explanation


def test_rpo_lag_of_a_stalled_receiver_from_the_primary_sent_bytes_alone():
    # A sample with only the primary's sent - replay as the outstanding bytes (no WAL position,
    # no commit times): the bytes alone make the feedback's age count.
    stalled = sample(None, 0.002, int(3.1 * MB), feedback_age=3.0)
    result = rpo_lag(lag_samples((-0.05, stalled)), T0, 1)
    assert not result.passed
    assert result.figure >= 2.9
    assert result.details["outstanding_read_from"] == "primary_sent_replay_bytes"
    assert "3.1 MB of WAL sent by the primary was not replayed" in result.explanation


def test_rpo_lag_takes_the_standby_replay_delay_when_it_is_the_largest():
    behind = sample(4.0, 0.3, 1 << 20, written_bytes=1 << 20, feedback_age=0.1, commit_ahead=3.9)
    result = rpo_lag(lag_samples((-0.5, behind)), T0, 5)
    assert result.passed
    assert result.figure == pytest.approx(4.0)
    assert result.details["bound"] == "standby_replay_delay"
    assert result.details["definition"].startswith("the standby's replay delay")


def test_rpo_lag_of_a_disconnected_standby_behind_an_active_primary():
    # No walsender for the standby: no replay_lag, no feedback; the primary kept committing.
    gone = sample(6.0, None, 0, written_bytes=48_000, commit_ahead=5.9)
    gone |= {"streaming": False, "primary_sent_replay_bytes": None}
    result = rpo_lag(lag_samples((-0.2, gone)), T0, 5)
    assert not result.passed
    assert result.figure == pytest.approx(6.0)
    assert result.details["bounds"] == {"standby_replay_delay": 6.0}
    assert "46.9 kB of WAL written on the primary" in result.explanation
    assert "(the primary had no walsender for it)" in result.explanation


def test_rpo_lag_of_a_caught_up_idle_standby_is_zero_despite_its_growing_replay_delay():
    # Idle: replay_lag NULL, the feedback up to wal_receiver_status_interval old, the last
    # replayed commit minutes old, nothing outstanding.
    idle = sample(120.0, None, 0, written_bytes=0, feedback_age=9.5, commit_ahead=0.0)
    result = rpo_lag(lag_samples((-1.0, idle)), T0, 5)
    assert result.passed
    assert result.figure == 0.0
    assert result.details["bound"] == "caught_up"
    assert result.explanation.startswith(
        "RPO (replication lag) 0.00 s ≤ 5 s: caught up (replay_lag NULL), as no WAL was waiting"
    )


def test_rpo_lag_trusts_the_standby_replay_position_over_the_primary_stale_feedback():
    # Idle after a burst: the primary's replay_lsn is the standby's last feedback, which may not
    # report the final replay for up to wal_receiver_status_interval; the standby has replayed.
    stale = sample(8.0, 0.004, 2080, written_bytes=0, feedback_age=8.0, commit_ahead=0.0)
    result = rpo_lag(lag_samples((-1.0, stale)), T0, 5)
    assert result.passed
    assert result.figure == pytest.approx(0.004)
    assert result.details["bound"] == "replay_lag"


def test_rpo_lag_ignores_outstanding_wal_without_a_commit():
    # WAL written on an idle primary (a checkpoint, a running-xacts record) and not yet
    # replayed holds no acknowledged write: the idle standby's delays do not count.
    no_commit = sample(60.0, None, 96, written_bytes=96, feedback_age=9.0, commit_ahead=0.0)
    result = rpo_lag(lag_samples((-1.0, no_commit)), T0, 5)
    assert result.passed
    assert result.figure == 0.0
    assert result.details["commit_outstanding"] is False
    assert "the standby had replayed the primary's last commit" in result.explanation


def test_rpo_lag_falls_back_to_the_standby_replay_delay_without_the_primary():
    history = lag_samples((-1.0, {**sample(7.5), "standby_receive_replay_bytes": 65536}))
    result = rpo_lag(history, T0, 5)
    assert not result.passed
    assert result.figure == pytest.approx(7.5)
    assert result.details["bound"] == "standby_replay_delay"
    assert result.details["max_receive_replay_bytes"] == 65536
    assert result.explanation.startswith("RPO (replication lag) 7.50 s > 5 s")
    assert "the primary was not sampled" in result.explanation


def test_rpo_lag_above_threshold_fails():
    result = rpo_lag(lag_samples((-0.5, sample(0.0, 6.0, 1 << 20))), T0, 5)
    assert not result.passed
    assert result.figure == pytest.approx(6.0)


def test_rpo_lag_without_a_sample_before_t0_is_not_measured():
    history = lag_samples((-1.0, sample(None)), outcome="fail")
    history.record(Op("lag:az-b", "sample", T0 + 1, T0 + 1.01, "ok", value=sample(0.1)))
    result = rpo_lag(history, T0, 5)
    assert result.verdict == "not measured"
    assert not result.passed
    assert result.figure is None
    assert "no successful lag sample (lag:*)" in result.explanation


def test_rpo_lag_is_not_measured_when_the_standby_has_replayed_nothing_yet():
    result = rpo_lag(lag_samples((-1.0, sample(None))), T0, 5)
    assert result.verdict == "not measured"
    assert not result.passed
    assert "none of the 1 successful lag samples" in result.explanation


def test_rpo_lag_with_wal_outstanding_and_only_replay_lag_has_no_figure():
    # replay_lag alone could understate what is missing: the sample is not used.
    blind = sample(None, 0.002, 1 << 20, written_bytes=1 << 20)
    result = rpo_lag(lag_samples((-1.0, blind)), T0, 5)
    assert result.verdict == "not measured"
    assert result.details["samples_without_figure"] == 1
    assert "neither the feedback's age nor the standby's replay delay" in result.explanation
