from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from drillbook.checks import rto
from drillbook.checks.rto import outage_seen
from drillbook.workload import History, Op

T0 = 1_700_000_000.0


def probe_history(
    duration_s: float,
    outcome_at: Callable[[float, int], str],
    *,
    rate_hz: float = 10,
    process: str = "probe:/lookup",
    history: History | None = None,
) -> History:
    """Probes from T0-1 s to T0+duration_s; outcome_at(seconds since T0, probe index)."""
    history = history or History()
    count = int((duration_s + 1) * rate_hz)
    for index in range(count):
        start = T0 - 1 + index / rate_hz
        outcome = outcome_at(start - T0, index)
        history.record(Op(process, "GET /lookup", start, start + 0.005, outcome))
    return history


def down_between(*spans: tuple[float, float], bad: str = "fail") -> Callable[[float, int], str]:
    return lambda t, _: bad if any(a <= t < b for a, b in spans) else "ok"


def test_no_failure_is_no_outage_observed_never_a_bare_zero():
    result = rto(probe_history(30, down_between()), T0, 1800)
    assert result.passed and result.verdict == "pass"
    assert result.figure is None and result.shown == "no outage observed"
    assert result.explanation.startswith("no outage observed: every one of the")
    assert result.details["first_failure_at"] is None


def test_the_probes_saw_the_outage_fails_when_no_probe_failed():
    quiet = outage_seen(probe_history(30, down_between()), T0)
    assert not quiet.passed and quiet.figure == 0
    assert "did not see the fault" in quiet.explanation
    seen = outage_seen(probe_history(30, down_between((0, 2))), T0)
    assert seen.passed and seen.figure == 20
    nothing = outage_seen(History(), T0)
    assert nothing.verdict == "not measured" and not nothing.passed


def test_outage_is_measured_to_the_first_success_after_it():
    result = rto(probe_history(30, down_between((0, 4.2))), T0, 1800)
    assert result.passed
    assert result.figure == pytest.approx(4.2, abs=0.1)
    assert result.details["time_to_detect_s"] == pytest.approx(0, abs=0.1)
    assert result.details["per_process"] == {"probe:/lookup": pytest.approx(4.2, abs=0.1)}
    assert "RTO 4.20 s ≤ 1800 s" in result.explanation
    assert "UTC+8" in result.explanation


def test_outage_longer_than_threshold_fails():
    result = rto(probe_history(30, down_between((0, 4.2))), T0, 3)
    assert not result.passed
    assert result.figure == pytest.approx(4.2, abs=0.1)
    assert result.explanation.startswith("RTO 4.20 s > 3 s")


def test_never_recovered_has_no_figure_and_fails():
    result = rto(probe_history(30, down_between((2, 99))), T0, 1800)
    assert result.figure is None
    assert not result.passed
    assert result.explanation.startswith("not recovered: success never stayed ≥99% after T0")
    assert "last full window 0%" in result.explanation


def test_flapping_counts_from_the_last_bad_window():
    result = rto(probe_history(45, down_between((0, 3), (20, 25))), T0, 1800)
    assert result.figure == pytest.approx(25, abs=0.1)


def test_sporadic_single_failures_under_one_percent_do_not_delay_recovery():
    def outcome(t: float, index: int) -> str:
        return "fail" if t < 4 or index % 150 == 0 else "ok"

    history = probe_history(60, outcome)
    after = [op for op in history.ops() if op.start >= T0 + 4]
    assert sum(op.outcome == "fail" for op in after) >= 3
    assert rto(history, T0, 1800).figure == pytest.approx(4, abs=0.1)


def test_two_failures_close_together_after_recovery_do_delay_it():
    result = rto(probe_history(60, down_between((0, 4), (30, 30.2))), T0, 1800)
    assert result.figure == pytest.approx(30.2, abs=0.1)


def test_observation_too_short_after_recovery_is_not_recovered():
    result = rto(probe_history(15.5, down_between((0, 15))), T0, 1800)
    assert result.figure is None
    assert not result.passed
    assert "0.41 s without failure, short of one window" in result.explanation


def test_too_few_probes_after_t0_is_not_recovered():
    result = rto(probe_history(3, down_between()), T0, 1800)
    assert result.figure is None
    assert "short of one of the windows of ≥1 s and ≥100 probes" in result.explanation


def test_timeouts_count_as_unsuccessful():
    result = rto(probe_history(30, down_between((0, 6), bad="info")), T0, 1800)
    assert result.figure == pytest.approx(6, abs=0.1)


def test_failures_before_t0_are_ignored():
    result = rto(probe_history(30, down_between((-1, 0))), T0, 1800)
    assert result.passed and result.note == "no outage observed"


def test_every_probe_process_must_recover_and_each_is_reported():
    history = probe_history(30, down_between((0, 4)), process="probe:/lookup")
    probe_history(30, down_between((0, 2)), process="probe:/history", history=history)
    probe_history(30, down_between((0, 9)), process="writer", history=history)
    result = rto(history, T0, 1800)
    # Pooled, the last /lookup failure is the one stray failure a 99% window tolerates:
    # the figure is exact to two probe intervals, each process's own figure to one.
    assert result.figure == pytest.approx(4, abs=0.21)
    assert result.details["per_process"] == {
        "probe:/history": pytest.approx(2, abs=0.1),
        "probe:/lookup": pytest.approx(4, abs=0.1),
    }


def test_no_probe_after_t0_is_not_measured():
    result = rto(History(), T0, 1800)
    assert result.figure is None
    assert not result.passed
    assert "no probe operation" in result.explanation


def test_window_holds_enough_probes_to_express_the_target():
    history = probe_history(30, down_between((0, 4)))
    assert rto(history, T0, 1800).details["window_ops"] == 100
    assert rto(history, T0, 1800, target_ratio=0.9).details["window_ops"] == 20
    assert rto(history, T0, 1800, target_ratio=1.0, min_requests=5).details["window_ops"] == 5


def test_result_is_json_serialisable():
    result = rto(probe_history(30, down_between((0, 4))), T0, 1800)
    assert json.loads(json.dumps(result.as_dict()))["name"] == "RTO"


def test_100k_ops_of_two_outages_end_at_the_second():
    """A drill of the plan's length; how fast it is judged is benchmarks/check_speed.py's."""
    history = probe_history(2000, down_between((0, 300), (900, 905)), rate_hz=50)
    assert len(history) >= 100_000
    assert rto(history, T0, 1800).figure == pytest.approx(905, abs=0.05)
