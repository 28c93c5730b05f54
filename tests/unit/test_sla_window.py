from __future__ import annotations

import pytest

from drillbook.checks.sla_window import sla_over_window, unavailable_time
from drillbook.workload.history import History, Op

T0 = 1_715_500_000.0
WINDOW_S = 45 * 60


def probes(duration_s: float, down: tuple[float, float], *, rate_hz: float = 10) -> History:
    """Two probes from T0-1 s to T0+duration_s, failing while down[0] <= t - T0 < down[1]."""
    history = History()
    for process in ("probe:/lookup", "probe:/history"):
        for index in range(int((duration_s + 1) * rate_hz)):
            start = T0 - 1 + index / rate_hz
            outcome = "fail" if down[0] <= start - T0 < down[1] else "ok"
            history.record(Op(process, "GET", start, start + 0.005, outcome))
    return history


def test_a_fast_cutover_keeps_within_the_error_budget_of_the_plans_window() -> None:
    result = sla_over_window(probes(30, (0, 10)), T0, WINDOW_S, 99.0)
    assert result.passed and result.verdict == "pass"
    assert result.figure == pytest.approx(100 * (1 - 10 / WINDOW_S), abs=0.01)
    assert result.details["error_budget_s"] == pytest.approx(27.0)
    assert "10.00 s unavailable in the 29.9 s observed" in result.explanation
    assert "the 2670.1 s not observed counted at the 100%" in result.explanation


def test_a_slow_cutover_spends_more_than_the_budget_and_fails_with_its_figure() -> None:
    result = sla_over_window(probes(60, (0, 40)), T0, WINDOW_S, 99.0)
    assert result.verdict == "fail"
    assert result.figure == pytest.approx(100 * (1 - 40 / WINDOW_S), abs=0.01)
    assert result.explanation.startswith("SLA 98.52% < 99% over the 2700 s from T0")


def test_failures_after_recovery_count_over_the_rest_of_the_window() -> None:
    history = probes(30, (0, 5))
    # after recovery, one probe fails every 5 s: fewer than one in a hundred of the pooled
    # probes, so recovered, yet the rest of the window counts at what the probes saw then
    for at in (10, 15, 20, 25):
        history.record(Op("probe:/lookup", "GET", T0 + at + 0.01, T0 + at + 0.02, "fail"))
    result = sla_over_window(history, T0, WINDOW_S, 99.0)
    assert 0.985 < result.details["tail_ratio"] < 0.9999
    assert result.figure < 100 * (1 - 5 / WINDOW_S) - 0.5


def test_a_drill_that_did_not_recover_cannot_count_the_rest_of_the_window() -> None:
    result = sla_over_window(probes(30, (0, 1e9)), T0, WINDOW_S, 99.0)
    assert result.verdict == "not measured" and not result.passed
    assert "did not recover in the 29.9 s observed of the 2700 s window" in result.explanation


def test_no_probe_after_t0_is_not_measured() -> None:
    result = sla_over_window(probes(30, (0, 0)), T0 + 60, WINDOW_S, 99.0)
    assert result.verdict == "not measured"
    assert result.figure is None


def test_an_observation_longer_than_the_window_is_judged_on_the_window_alone() -> None:
    result = sla_over_window(probes(120, (0, 3)), T0, 60, 99.0)
    assert result.details["rest_s"] == 0
    assert result.figure == pytest.approx(100 * (1 - 3 / 60), abs=0.1)
    assert result.verdict == "fail"


def test_a_timed_out_probe_weighs_the_time_its_users_waited() -> None:
    ops = [
        Op("probe:/a", "GET", T0, T0 + 2.0, "info", error="timeout"),
        Op("probe:/a", "GET", T0 + 2.0, T0 + 2.01, "ok"),
        Op("probe:/a", "GET", T0 + 2.1, T0 + 2.11, "ok"),
    ]
    assert unavailable_time(ops, T0, T0 + 3) == pytest.approx(2.0)
    # averaged over the processes: one of two saw it
    other = [Op("probe:/b", "GET", T0 + t / 10, T0 + t / 10 + 0.01, "ok") for t in range(30)]
    assert unavailable_time(sorted(ops + other, key=lambda op: op.start), T0, T0 + 3) == 1.0


def test_a_failure_just_before_recovery_is_not_spread_over_the_rest_of_the_window() -> None:
    # the last failure's interval runs past the recovery the RTO check finds
    history = probes(30, (0, 10))
    result = sla_over_window(history, T0, WINDOW_S, 99.0)
    assert result.details["tail_ratio"] == 1.0
    assert result.figure == pytest.approx(100 * (1 - 10 / WINDOW_S), abs=0.01)


def test_too_short_an_observation_after_recovery_is_not_measured() -> None:
    result = sla_over_window(probes(15, (0, 10)), T0, WINDOW_S, 99.0)
    assert result.verdict == "not measured"
    assert "of probes after recovering at" in result.explanation
    assert "takes at least 10 s" in result.explanation


def test_a_second_outage_the_drill_caused_is_counted_once_not_extrapolated() -> None:
    history = probes(50, (0, 8))
    for process in ("probe:/lookup", "probe:/history"):  # the failback: 4 s more at 20 s
        for index in range(40):
            start = T0 + 20 + index / 10 + 0.001
            history.record(Op(process, "GET", start, start + 0.005, "fail"))
    settled = sla_over_window(history, T0, WINDOW_S, 99.0, settled_from=T0 + 30)
    assert settled.passed and settled.details["tail_ratio"] == 1.0
    assert settled.details["recovered_at"] == T0 + 30
    assert settled.figure == pytest.approx(100 * (1 - 12 / WINDOW_S), abs=0.05)
