"""The May drill's checks: hit rate back, the Redis signal, accepting commands again, came back
empty and quota consistency, each passing and failing on synthetic histories; and what the
hit-rate sampler records."""

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
from drillbook.workload import History, Op, RedisStatsSampler

T0 = 1_700_000_000.0
PROCESS = "redis-stats:service"


def stats_history(
    rate_at, *, down=(), restart_at=None, reset_at=None, service_down=(), reads_per_sample=40
) -> History:
    """Samples every 0.2 s from T0-5 s to T0+20 s. Between two samples the cache serves
    `reads_per_sample` reads, a share `rate_at(t)` of them hits. The node does not answer in
    the `down` (start, end) span (offsets from T0), where the cache's reads are unavailable,
    and restarts (another run_id) at `restart_at`; the service's counts start again from 0 at
    `reset_at` (a replica restarted), and it does not answer in the `service_down` span."""
    history, hits, misses, unavailable = History(), 0, 0, 0
    for i in range(126):
        offset = -5 + i * 0.2
        at = T0 + offset
        if reset_at is not None and offset >= reset_at > offset - 0.2:
            hits = misses = unavailable = 0
        if down and down[0] <= offset < down[1]:
            unavailable += reads_per_sample
        else:
            gained = round(reads_per_sample * rate_at(offset))
            hits, misses = hits + gained, misses + reads_per_sample - gained
        counts = {"cache_hits": hits, "cache_misses": misses, "cache_unavailable": unavailable}
        counts["cache_since"] = T0 + reset_at if reset_at is not None and offset >= reset_at else 0
        if service_down and service_down[0] <= offset < service_down[1]:
            counts = dict.fromkeys(counts)
        if down and down[0] <= offset < down[1]:
            value = counts | {"run_id": None, "role": None, "loading": None}
            history.record(Op(PROCESS, "stats", at, at + 0.001, "fail", value, error="x"))
            continue
        run = "b" if restart_at is not None and offset >= restart_at else "a"
        value = counts | {"run_id": run, "role": "master", "loading": 0}
        history.record(Op(PROCESS, "stats", at, at + 0.001, "ok", value=value))
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
    assert result.verdict == "fail" and not result.passed and result.figure is None
    assert result.shown == "not back"
    assert "not back to 80%" in result.explanation and "hit rate 60%" in result.explanation


def test_hit_rate_recovery_is_not_measured_when_the_rate_never_dropped():
    result = hit_rate_recovery(stats_history(lambda offset: 0.95), T0, 60)
    assert result.verdict == "not measured" and not result.passed and result.figure is None
    assert "the hit rate never dropped" in result.explanation


def test_hit_rate_recovery_is_not_measured_without_a_sample_that_tells():
    nothing = hit_rate_recovery(stats_history(cold_cache), T0 + 100, 60)
    assert nothing.verdict == "not measured" and not nothing.passed and nothing.figure is None
    assert "no sample of redis-stats:* after T0" in nothing.explanation
    idle = hit_rate_recovery(stats_history(cold_cache, reads_per_sample=1), T0, 60)
    assert idle.verdict == "not measured" and not idle.passed and idle.figure is None
    assert "had 20 reads in its 1 s window" in idle.explanation


def test_signal_is_raised_by_an_unreachable_node_or_a_low_hit_rate():
    unreachable = signal_raised(stats_history(cold_cache, down=(1, 2)), T0, T0 + 20, 60)
    assert unreachable.passed and unreachable.figure == pytest.approx(1.0, abs=0.01)
    assert unreachable.threshold == 60
    assert unreachable.details["spans"][0]["why"] == "node unreachable"
    assert unreachable.details["halves"] == ["node unreachable"]
    low = signal_raised(stats_history(lambda o: 0.9 if o < 0 else 0.05), T0, T0 + 20, 60)
    assert low.passed and "hit rate 5%" in low.details["spans"][0]["why"]
    assert low.details["halves"] == ["hit rate low"] and "(hit rate low)" in low.explanation


def test_signal_spans_are_split_by_the_half_that_held():
    # unreachable for 1 s, then back with an empty cache that stays cold
    history = stats_history(lambda o: 0.95 if o < 0 else 0.0, down=(0, 1))
    result = signal_raised(history, T0, T0 + 20, 60)
    assert [span["half"] for span in result.details["spans"]] == [
        "node unreachable",
        "hit rate low",
    ]
    assert result.details["halves"] == ["node unreachable", "hit rate low"]
    assert "node unreachable and hit rate low" in result.explanation


def test_signal_fails_when_it_never_held():
    result = signal_raised(stats_history(cold_cache), T0, T0 + 20, 60)
    assert result.verdict == "fail" and not result.passed and result.figure is None
    assert result.shown == "never raised"
    assert "never held" in result.explanation


def test_signal_is_not_measured_without_a_sample_or_a_known_rate():
    nothing = signal_raised(stats_history(cold_cache), T0 + 100, T0 + 120, 60)
    assert nothing.verdict == "not measured" and not nothing.passed and nothing.figure is None
    assert "no sample of redis-stats:* from" in nothing.explanation
    idle = signal_raised(stats_history(cold_cache, reads_per_sample=1), T0, T0 + 20, 60)
    assert idle.verdict == "not measured" and not idle.passed and idle.figure is None
    assert "the hit rate was never known" in idle.explanation


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
    assert result.verdict == "fail" and not result.passed and result.figure is None
    assert result.shown == "never accepted again"
    assert "never accepted commands again" in result.explanation


def test_a_restart_time_is_not_measured_when_nothing_stopped():
    result = accepting_again(writer_history(outage=(0.0, 0.0)), T0, 600)
    assert result.verdict == "not measured" and not result.passed and result.figure is None
    assert "none of the" in result.explanation and "failed" in result.explanation


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


def test_quota_consistency_without_a_user_is_not_measured():
    result = quota_consistency([])
    assert result.verdict == "not measured" and not result.passed and result.figure is None
    assert (
        result.explanation == "users with a wrong quota not measured: no user's quota was sampled"
    )


def test_a_counter_reset_starts_the_window_afresh():
    # a replica restarts at T0 (its counts start again from 0) and the cache turns cold: the
    # drop of the counts is no negative read, and the reads before it do not lift the rate
    history = stats_history(lambda o: 0.95 if o < 0 else 0.10, reset_at=0)
    points = hit_rates(history)
    assert all(p.rate is None or 0 <= p.rate <= 1 for p in points)
    after_reset = [p for p in points if T0 <= p.at < T0 + 1 and p.rate is not None]
    assert after_reset and all(p.rate == pytest.approx(0.10, abs=0.01) for p in after_reset)


def test_a_count_that_went_down_starts_the_window_afresh():
    # the same `since` but fewer reads than before: counted anew, never a negative increment
    history = stats_history(lambda o: 0.5)
    ops = history.ops()
    lowered = {**ops[30].value, "cache_hits": 0, "cache_misses": 0}
    replaced = [
        op if i != 30 else Op(op.process, op.f, op.start, op.end, "ok", lowered)
        for i, op in enumerate(ops)
    ]
    points = hit_rates(History(replaced))
    assert points[30].rate is None and points[30].reads == 0
    assert all(p.rate is None or 0 <= p.rate <= 1 for p in points)


def test_a_sample_without_the_service_counts_is_reachable_and_adds_no_reads():
    history = stats_history(lambda o: 0.9 if o < 0 else 0.05, service_down=(1, 2))
    during = [p for p in hit_rates(history) if T0 + 1 <= p.at < T0 + 2]
    assert during and all(p.reachable for p in during)
    # the window empties while no counts come, then the next count covers the gap
    assert [p.rate for p in during][-1] is None
    later = [p for p in hit_rates(history) if p.at >= T0 + 2.5]
    assert all(p.rate == pytest.approx(0.05, abs=0.01) for p in later)
    assert signal_raised(history, T0, T0 + 20, 60).details["halves"] == ["hit rate low"]


def test_a_new_server_run_starts_its_hit_rate_afresh():
    # a warm node (95% hits) fails over at T0 to a cold one (10%): the old node's reads must
    # not lift the new one's rate in the window right after the switch
    history = stats_history(lambda o: 0.95 if o < 0 else 0.10, restart_at=0)
    after_switch = [p for p in hit_rates(history) if T0 <= p.at < T0 + 1 and p.rate is not None]
    assert after_switch and all(p.rate == pytest.approx(0.10, abs=0.01) for p in after_switch)


def test_sampler_records_the_service_counts_and_the_node_it_could_not_reach():
    counts = {"hits": 7, "misses": 3, "unavailable": 1, "since": T0, "replicas": []}
    history = History()
    closed_port = "redis://127.0.0.1:1/0"  # nothing listens: refused at once
    sampler = RedisStatsSampler(history, lambda: counts, lambda: closed_port, "t", timeout_s=0.5)
    sampler._tick()

    def no_service() -> dict:
        raise RuntimeError("reference service GET /admin/cache/stats failed")

    RedisStatsSampler(history, no_service, lambda: closed_port, "t", timeout_s=0.5)._tick()
    sampler.stop()
    first, second = history.ops()
    assert (first.process, first.f, first.outcome) == ("redis-stats:t", "stats", "fail")
    assert first.value == {
        "cache_hits": 7,
        "cache_misses": 3,
        "cache_unavailable": 1,
        "cache_since": T0,
        "run_id": None,
        "role": None,
        "loading": None,
    }
    assert "cache stats" not in first.error
    assert second.value["cache_hits"] is None and "cache stats: RuntimeError" in second.error
