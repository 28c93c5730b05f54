"""Every assertion step of the May drill fails, naming figure, threshold and evidence, when the
drill's history breaks its threshold (and passes when it does not)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from drillbook.checks import QuotaSample
from drillbook.drill import Drill
from drillbook.workload import History
from steps import conditions
from steps import redis as redis_steps
from tests.unit.test_redis_checks import T0, cold_cache, stats_history, writer_history

pytestmark = pytest.mark.filterwarnings("ignore:.*not added to the Allure report")


def drill_with(history: History, tmp_path: Path, **facts) -> Drill:
    drill = Drill("s", Path("x.feature"), 1, set(), tmp_path, history=history)
    drill.t0 = T0
    drill.facts.update(facts)
    return drill


def acked_before_t0(history: History) -> set[int]:
    return {op.value for op in history.ops() if op.outcome == "ok" and op.end < T0}


def test_accepted_again_step_fails_when_the_outage_outlasts_the_limit(tmp_path):
    drill = drill_with(writer_history(outage=(0.0, 2.0)), tmp_path)
    with pytest.raises(
        AssertionError, match=r"accepting commands again check failed.*threshold 1 s"
    ):
        redis_steps.accepted_again(drill, 1, "seconds")
    redis_steps.accepted_again(drill_with(writer_history(), tmp_path), 10, "minutes")


def test_writes_lost_step_fails_when_more_than_a_second_of_writes_is_gone(tmp_path):
    history = writer_history()
    acked = acked_before_t0(history)
    last_two_seconds = {n for n in acked if n > max(acked) - 40}
    drill = drill_with(history, tmp_path, redis_survivors=acked - last_two_seconds)
    with pytest.raises(AssertionError, match=r"Redis keys lost check failed.*threshold 1 s"):
        redis_steps.redis_writes_lost(drill, 1, "second")
    redis_steps.redis_writes_lost(drill_with(history, tmp_path, redis_survivors=acked), 1, "second")


def test_came_back_empty_step_fails_when_keys_survived_the_rebuild(tmp_path):
    history = writer_history()
    drill = drill_with(history, tmp_path, redis_survivors={1, 2})
    with pytest.raises(
        AssertionError, match=r"writes kept after the rebuild check failed.*measured 2"
    ):
        redis_steps.came_back_empty_step(drill)
    redis_steps.came_back_empty_step(drill_with(history, tmp_path, redis_survivors=set()))


def test_hit_rate_step_fails_when_the_hit_rate_stays_low(tmp_path):
    low = stats_history(lambda offset: 0.95 if offset < 0 else 0.6)
    with pytest.raises(AssertionError, match=r"hit rate back check failed.*not back to 80%"):
        redis_steps.hit_rate_back(drill_with(low, tmp_path), 80, 60, "minutes")
    recovering = stats_history(cold_cache, down=(0, 1))
    redis_steps.hit_rate_back(drill_with(recovering, tmp_path), 80, 60, "minutes")


def test_signal_step_fails_when_neither_condition_held(tmp_path):
    healthy = drill_with(stats_history(cold_cache), tmp_path)
    with pytest.raises(AssertionError, match=r"signal hit rate <20% or unreachable check failed"):
        redis_steps.signal_after_fault(healthy, 20, 1, "minutes")
    late = drill_with(stats_history(cold_cache, down=(1, 2)), tmp_path)
    with pytest.raises(AssertionError, match=r"unreachable check failed.*threshold 0.5 s"):
        redis_steps.signal_after_fault(late, 20, 0.5, "seconds")
    on_time = drill_with(stats_history(cold_cache, down=(1, 2)), tmp_path)
    redis_steps.signal_after_fault(on_time, 20, 1, "minutes")


def test_quota_step_fails_when_a_user_gets_more_than_allowed(tmp_path, monkeypatch):
    samples = {
        "a": QuotaSample("a", 10, 10, 0, 200),  # counter lost and not recomputed: fails open
        "b": QuotaSample("b", 10, 4, 4, 200),
    }
    monkeypatch.setattr(redis_steps, "quota_sample", lambda _env, user: samples[user])
    drill = drill_with(History(), tmp_path, quota_users=["a", "b"])
    with pytest.raises(
        AssertionError, match=r"users with a wrong quota check failed: 1 of 2 users"
    ):
        redis_steps.quota_matches(drill, None)
    samples["a"] = QuotaSample("a", 10, 10, 10, 429)
    redis_steps.quota_matches(drill_with(History(), tmp_path, quota_users=["a", "b"]), None)


def sampling(history: History, tmp_path: Path, running: bool = True) -> Drill:
    """A drill whose workload (the hit-rate sampler among it) is running or has stopped."""
    drill = drill_with(history, tmp_path)
    drill.workload = SimpleNamespace(running=running)
    return drill


def test_hit_rate_condition_times_out_with_the_last_sample(tmp_path):
    drill = sampling(stats_history(lambda offset: 0.5), tmp_path)
    request = SimpleNamespace(getfixturevalue=lambda name: None)
    with pytest.raises(AssertionError, match=r"timed out after 0.2 s .* hit rate 50%"):
        conditions.within(request, drill, lambda _: None, 0.2, "the Redis hit rate is at least 80%")
    recovered = sampling(stats_history(cold_cache), tmp_path)
    conditions.within(request, recovered, lambda _: None, 0.2, "the Redis hit rate is at least 80%")
    assert recovered.recovered_at is not None


def test_hit_rate_condition_says_when_the_workload_has_stopped(tmp_path):
    stopped = sampling(stats_history(cold_cache), tmp_path, running=False)
    request = SimpleNamespace(getfixturevalue=lambda name: None)
    with pytest.raises(AssertionError, match="the workload has stopped"):
        conditions.within(
            request, stopped, lambda _: None, 0.2, "the Redis hit rate is at least 80%"
        )
