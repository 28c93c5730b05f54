from __future__ import annotations

import random

import pytest

from drillbook.checks import p95_at_most, p95_vs_baseline, percentiles
from drillbook.checks.latency import nearest_rank
from drillbook.workload import History, Op

T0 = 1_700_000_000.0


def record(history: History, latencies_s: list[float], at: float, outcome: str = "ok") -> None:
    """Probes of /lookup invoked 5 ms apart from `at`, with the given latencies."""
    for i, latency in enumerate(latencies_s):
        start = at + i * 0.005
        history.record(Op("probe:/lookup", "GET /lookup", start, start + latency, outcome))


def ms(*values: int) -> list[float]:
    return [v / 1000 for v in values]


def test_nearest_rank_picks_an_observed_value():
    values = [float(v) for v in range(1, 101)]
    assert nearest_rank(values, 50) == 50
    assert nearest_rank(values, 95) == 95
    assert nearest_rank(values, 99) == 99
    assert nearest_rank([7.0], 95) == 7
    assert nearest_rank([1.0, 2.0, 3.0], 50) == 2


def test_percentiles_ignore_failed_operations():
    history = History()
    record(history, ms(*range(10, 110)), T0)  # 10..109 ms
    record(history, ms(*[1] * 100), T0 + 5, outcome="fail")  # fast refusals
    figures = percentiles(history)
    assert figures["count"] == 100
    assert figures["p50"] == pytest.approx(0.059)
    assert figures["p95"] == pytest.approx(0.104)
    assert figures["p99"] == pytest.approx(0.108)


def test_percentiles_of_an_empty_window_are_none():
    assert percentiles(History(), prefix="probe:/history") == {
        "p50": None,
        "p95": None,
        "p99": None,
        "count": 0,
    }


def baseline_and_drill(drill_ms: list[int]) -> History:
    history = History()
    record(history, ms(*[100] * 100), T0)
    record(history, ms(*drill_ms), T0 + 10)
    return history


BASELINE = [(T0, T0 + 5)]
DRILL = [(T0 + 10, T0 + 15)]


def test_p95_within_110_percent_of_baseline_passes():
    result = p95_vs_baseline(baseline_and_drill([105] * 100), "probe:/lookup", BASELINE, DRILL, 110)
    assert result.passed
    assert result.name == "P95 /lookup"
    assert result.unit == "× baseline"
    assert result.threshold == pytest.approx(1.1)
    assert result.figure == pytest.approx(1.05, abs=1e-3)  # epoch floats: µs precision
    assert result.shown == "1.05 × baseline"
    assert result.details["baseline_p95_ms"] == pytest.approx(100.0)
    assert result.details["drill_p95_ms"] == pytest.approx(105.0)
    assert result.details["baseline_count"] == result.details["drill_count"] == 100


def test_p95_worse_than_110_percent_of_baseline_fails():
    result = p95_vs_baseline(
        baseline_and_drill([100] * 85 + [200] * 15), "probe:/lookup", BASELINE, DRILL, 110
    )
    assert not result.passed
    assert result.figure == pytest.approx(2.0, abs=1e-3)
    assert result.explanation.startswith(
        "P95 /lookup 2.000 × baseline > 1.1 × baseline beyond sampling noise (its lower bound"
        " is above): 200.0 ms"
    )
    assert result.details["ratio_interval"] == [2.0, 2.0]


def test_the_hosts_cpu_share_in_each_window_is_stated_beside_the_figure():
    history = baseline_and_drill([100] * 85 + [200] * 15)
    result = p95_vs_baseline(history, "probe:/lookup", BASELINE, DRILL, 110, (0.41, 0.93))
    assert not result.passed  # stated, never excused
    assert result.explanation.endswith(
        "; the harness's host was 41% busy at baseline and 93% during the drill"
    )
    assert result.details["host_cpu_busy"] == {"baseline": 0.41, "drill": 0.93}
    unknown = p95_vs_baseline(history, "probe:/lookup", BASELINE, DRILL, 110, (0.41, None))
    assert "host" not in unknown.explanation


def noisy(rng: random.Random, median_ms: float, n: int = 240) -> list[int]:
    """Latencies of a service whose median is `median_ms`, with a long right tail."""
    return [round(median_ms * rng.lognormvariate(0, 0.35)) for _ in range(n)]


def two_windows(before: list[int], during: list[int]) -> History:
    history = History()
    record(history, ms(*before), T0)
    record(history, ms(*during), T0 + 10)
    return history


def test_p95_above_110_percent_by_chance_alone_passes_and_says_so():
    # Two windows of the same service whose P95s differ by 15% by chance (seed 9)
    rng = random.Random(9)
    history = two_windows(noisy(rng, 20), noisy(rng, 20))
    result = p95_vs_baseline(history, "probe:/lookup", BASELINE, DRILL, 110)
    assert result.figure == pytest.approx(1.152, abs=0.001)
    assert result.passed
    low, high = result.details["ratio_interval"]
    assert low <= 1.1 < result.figure <= high
    assert "is within sampling noise of 1.1 × baseline" in result.explanation


@pytest.mark.parametrize(("n", "factor"), [(240, 1.5), (600, 1.3)])
def test_a_worse_p95_fails_despite_the_noise(n, factor):
    # 240 latencies a side resolve a 50% degradation, 600 one of 30%
    rng = random.Random(2)
    for _ in range(3):
        history = two_windows(noisy(rng, 20, n), noisy(rng, 20 * factor, n))
        result = p95_vs_baseline(history, "probe:/lookup", BASELINE, DRILL, 110)
        assert not result.passed, result.explanation
        assert result.details["ratio_interval"][0] > 1.1


def windows_at(*medians_ms: float, n: int = 300, seed: int = 4) -> History:
    """Windows of `n` latencies 10 s apart, each at its median."""
    rng = random.Random(seed)
    history = History()
    for k, median in enumerate(medians_ms):
        record(history, ms(*noisy(rng, median, n)), T0 + 10 * k)
    return history


def spans(*ks: int) -> list[tuple[float, float]]:
    return [(T0 + 10 * k, T0 + 10 * k + 5) for k in ks]


def test_baselines_on_both_sides_of_the_drill_share_the_hosts_drift():
    # the host slows by 5 ms a window, the service not at all: against the first baseline
    # alone the drill reads 30% worse; with one after it too, the drift is on both sides
    history = windows_at(20, 25, 30, 35)
    before_only = p95_vs_baseline(history, "probe:/lookup", spans(0), spans(1, 2), 110)
    assert not before_only.passed
    result = p95_vs_baseline(history, "probe:/lookup", spans(0, 3), spans(1, 2), 110)
    assert result.passed, result.explanation
    assert result.details["baseline_count"] == result.details["drill_count"] == 600
    assert len(result.details["window_p95_ms"]["baseline"]) == 2
    assert "the P95 of each window: baseline 38.0, 62.0 ms, drill 43.0, 53.0 ms" in (
        result.explanation
    )


def test_a_worse_p95_between_two_baselines_fails():
    history = windows_at(20, 30, 20)
    result = p95_vs_baseline(history, "probe:/lookup", spans(0, 2), spans(1), 110)
    assert not result.passed and result.measured
    assert result.details["ratio_interval"][0] > 1.1


def test_p95_vs_baseline_needs_100_latencies_per_window():
    result = p95_vs_baseline(baseline_and_drill([100] * 99), "probe:/lookup", BASELINE, DRILL, 110)
    assert not result.passed and not result.measured
    assert result.figure is None
    assert "99 successful operations of probe:/lookup* in the drill window" in result.explanation
    assert "needs at least 100" in result.explanation


def test_p95_vs_baseline_fails_when_the_drill_window_has_no_success():
    history = baseline_and_drill([])
    record(history, ms(*[5] * 10), T0 + 10, outcome="fail")
    result = p95_vs_baseline(history, "probe:/lookup", BASELINE, DRILL, 110)
    assert not result.passed
    assert result.figure is None
    assert "0 successful operations of probe:/lookup* in the drill window" in result.explanation


def test_p95_vs_baseline_fails_when_the_baseline_is_empty():
    result = p95_vs_baseline(
        baseline_and_drill([100] * 100), "probe:/lookup", [(T0 - 10, T0 - 5)], DRILL, 110
    )
    assert not result.passed
    assert "in the baseline window" in result.explanation


def test_p95_at_most_passes_under_the_limit_and_fails_above():
    history = History()
    record(history, [0.2] * 95 + [3.0] * 5, T0)
    ok = p95_at_most(history, "probe:/lookup", 2.5)
    assert ok.passed
    assert ok.name == "P95 /lookup"
    assert ok.figure == pytest.approx(0.2)
    record(history, [3.0] * 10, T0 + 5)
    slow = p95_at_most(history, "probe:/lookup", 2.5)
    assert not slow.passed
    assert slow.unit == "s"
    assert slow.explanation.startswith("P95 /lookup 3.000 s > 2.5 s over 110 successful")


def test_p95_at_most_without_success_is_not_measured():
    history = History()
    record(history, [0.1] * 5, T0)
    result = p95_at_most(history, "probe:/lookup", 2.5, start=T0 + 1)
    assert result.verdict == "not measured" and not result.passed
    assert result.figure is None
    assert "no operation of probe:/lookup* was invoked from" in result.explanation
    record(history, [0.1] * 5, T0 + 2, outcome="fail")
    failed = p95_at_most(history, "probe:/lookup", 2.5, start=T0 + 1)
    assert failed.verdict == "not measured" and not failed.passed
    assert "none of the 5 operations of probe:/lookup* from" in failed.explanation
    assert failed.details["operations"] == 5
