"""The May drill's checks: hit rate back, the Redis signal, accepting commands again, came back
empty and quota consistency, each passing and failing on synthetic histories."""

from __future__ import annotations

import pytest

from drillbook.checks import (
    QuotaSample,
    accepting_again,
    came_back_empty,
    hit_rate_recovery,
    hit_rates,
    quota_consistency,
    signal_raised,
)
from drillbook.workload import History, Op

T0 = 1_700_000_000.0


def stats_history(rate_at, *, down=(), restart_at=None, reads_per_sample=40) -> History:
    """INFO samples every 0.2 s from T0-5 s to T0+20 s. Between two samples the node serves
    `reads_per_sample` key reads, a share `rate_at(t)` of them hits; it does not answer in the
    `down` (start, end) span (offsets from T0), and restarts (counters from 0) at `restart_at`."""
    history, hits, misses = History(), 0, 0
    for i in range(126):
        offset = -5 + i * 0.2
        at = T0 + offset
        if restart_at is not None and offset >= restart_at > offset - 0.2:
            hits = misses = 0
        if down and down[0] <= offset < down[1]:
            history.record(Op("redis-stats:service", "INFO", at, at + 0.001, "fail", error="x"))
            continue
        gained = round(reads_per_sample * rate_at(offset))
        hits, misses = hits + gained, misses + reads_per_sample - gained
        run = "b" if restart_at is not None and offset >= restart_at else "a"
        value = {"keyspace_hits": hits, "keyspace_misses": misses, "run_id": run}
        history.record(Op("redis-stats:service", "INFO", at, at + 0.001, "ok", value=value))
    return history


def writer_history(*, outage=(0.0, 2.0), until_s=6.0) -> History:
    """Redis writer ops every 0.05 s from T0-2 s, unsuccessful within `outage` (offsets)."""
    history = History()
    for n in range(1, int((until_s + 2) * 20)):
        start = T0 - 2 + n * 0.05
        failed = outage[0] <= start - T0 < outage[1]
        outcome, error = ("info", "Connection closed by server.") if failed else ("ok", None)
        history.record(Op("redis:writer", "SET", start, start + 0.001, outcome, n, error=error))
    return history


def cold_cache(offset: float) -> float:
    """Hits 95% before T0; after T0 a cold cache warming up over 3 s."""
    return 0.95 if offset < 0 else min(0.95, 0.5 + offset * 0.15)


def test_hit_rates_are_over_the_window_and_restart_with_the_server():
    points = hit_rates(stats_history(cold_cache, restart_at=1.0))
    before = [p for p in points if p.at < T0]
    assert before[-1].rate == pytest.approx(0.95, abs=0.01)
    # the first sample of the new run is a new baseline: no negative increment
    assert all(p.rate is None or 0 <= p.rate <= 1 for p in points)
    down = hit_rates(stats_history(cold_cache, down=(0, 1)))
    assert [p.reachable for p in down if T0 <= p.at < T0 + 1] == [False] * 5


def test_hit_rate_recovery_measures_the_return_to_80_percent():
    result = hit_rate_recovery(stats_history(cold_cache, down=(0, 1)), T0, 3600)
    assert result.passed
    # the window's rate crosses 80% once about 2.3 s of warming up are in it
    assert 2.4 <= result.figure <= 3.4
    late = hit_rate_recovery(stats_history(cold_cache, down=(0, 1)), T0, 1)
    assert not late.passed and "> 1 s" in late.explanation


def test_hit_rate_recovery_fails_when_it_never_comes_back():
    result = hit_rate_recovery(stats_history(lambda offset: 0.95 if offset < 0 else 0.6), T0, 60)
    assert not result.passed and result.figure is None
    assert "not back to 80%" in result.explanation and "hit rate 60%" in result.explanation


def test_signal_is_raised_by_an_unreachable_node_or_a_low_hit_rate():
    unreachable = signal_raised(stats_history(cold_cache, down=(1, 2)), T0, T0 + 20, 60)
    assert unreachable.passed and unreachable.figure == pytest.approx(1.0, abs=0.01)
    assert unreachable.threshold == 60
    assert unreachable.details["spans"][0]["why"] == "node unreachable"
    low = signal_raised(stats_history(lambda o: 0.9 if o < 0 else 0.05), T0, T0 + 20, 60)
    assert low.passed and "hit rate" in low.details["spans"][0]["why"]


def test_signal_fails_when_it_never_held():
    result = signal_raised(stats_history(cold_cache), T0, T0 + 20, 60)
    assert not result.passed and result.figure is None
    assert "never held" in result.explanation


def test_signal_raised_too_late_fails():
    late = signal_raised(stats_history(cold_cache, down=(1, 2)), T0, T0 + 20, 0.5)
    assert not late.passed
    assert "raised 1.00 s after T0 > 0.5 s" in late.explanation


def test_accepting_again_is_the_first_success_after_the_outage():
    result = accepting_again(writer_history(outage=(0.0, 2.0)), T0, 600)
    assert result.passed and result.figure == pytest.approx(2.0, abs=0.06)
    slow = accepting_again(writer_history(outage=(0.0, 2.0)), T0, 1)
    assert not slow.passed and "> 1 s" in slow.explanation


def test_accepting_again_fails_when_commands_never_succeed_again():
    result = accepting_again(writer_history(outage=(0.0, 99.0)), T0, 600)
    assert not result.passed and result.figure is None
    assert "never accepted commands again" in result.explanation


def test_came_back_empty_counts_the_writes_that_survived():
    history = writer_history()
    acked_before = {op.value for op in history.ops() if op.outcome == "ok" and op.end < T0}
    assert came_back_empty(history, T0, set()).passed
    kept = came_back_empty(history, T0, set(sorted(acked_before)[:3]))
    assert not kept.passed and kept.figure == 3
    assert "with data it should have lost" in kept.explanation


def test_quota_consistency_passes_when_counters_equal_usage_and_the_limit_holds():
    samples = [QuotaSample("a", 10, 4, 4, 200), QuotaSample("b", 10, 10, 10, 429)]
    result = quota_consistency(samples)
    assert result.passed and result.figure == 0


@pytest.mark.parametrize(
    ("sample", "problem"),
    [
        (QuotaSample("a", 10, 4, None, 200), "no counter"),
        (QuotaSample("a", 10, 10, 0, 200), "grants beyond the records"),
        (QuotaSample("a", 10, 10, 10, 200), "next lookup answered 200, not 429"),
        (QuotaSample("a", 10, 4, 12, 429), "blocks too early"),
        (QuotaSample("a", 10, 4, 4, 429), "refused with 429"),
    ],
)
def test_quota_consistency_fails_per_user(sample, problem):
    result = quota_consistency([sample, QuotaSample("ok", 10, 1, 1, 200)])
    assert not result.passed and result.figure == 1
    assert problem in result.explanation


def test_a_new_server_run_starts_its_hit_rate_afresh():
    # a warm node (95% hits) fails over at T0 to a cold one (10%): the old node's reads must
    # not lift the new one's rate in the window right after the switch
    history = stats_history(lambda o: 0.95 if o < 0 else 0.10, restart_at=0)
    after_switch = [p for p in hit_rates(history) if T0 <= p.at < T0 + 1 and p.rate is not None]
    assert after_switch and all(p.rate == pytest.approx(0.10, abs=0.01) for p in after_switch)
