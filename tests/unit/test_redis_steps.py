"""Every assertion step of the May drill fails, naming figure, threshold and evidence, when the
drill's history breaks its threshold (and passes when it does not); its clients follow the node
the service uses, and its steps act through the capabilities."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from drillbook.capabilities.operation import fault, remediation
from drillbook.drill import NEMESIS, CheckFailed, Drill, DrillError, MissingStep
from drillbook.faults.journal import FaultJournal
from drillbook.waits import WaitTimeout
from drillbook.workload import History, RedisStatsSampler, RedisWriter
from steps import CacheInUse, conditions
from steps import redis as redis_steps
from tests.drills import make_drill
from tests.unit.test_redis_checks import T0, cold_cache, stats_history, writer_history

pytestmark = pytest.mark.filterwarnings("ignore:.*not added to the Allure report")
PROFILE = SimpleNamespace(workload={"probe_timeout_ms": 500})


def drill_with(history: History, tmp_path: Path, survivors: set[int] | None = None) -> Drill:
    """A drill with its fault at T0 and, if given, the writer's keys read after recovery."""
    drill = make_drill(history, tmp_path, t0=T0)
    if survivors is not None:
        drill.remember(CacheInUse("primary"))
        drill.remember(redis_steps.RedisSurvivors("primary", frozenset(survivors)))
    return drill


def acked_before_t0(history: History) -> set[int]:
    return {
        op.value for op in history.ops(prefix="redis:writer") if op.outcome == "ok" and op.end < T0
    }


def test_accepted_again_step_fails_when_the_outage_outlasts_the_limit(tmp_path):
    drill = drill_with(writer_history(outage=(0.0, 2.0)), tmp_path)
    with pytest.raises(CheckFailed, match=r"accepting commands again check fail.*threshold 1 s"):
        redis_steps.accepted_again(drill, 1, "seconds")
    redis_steps.accepted_again(drill_with(writer_history(), tmp_path), 10, "minutes")


def test_writes_lost_step_fails_when_more_than_a_second_of_writes_is_gone(tmp_path):
    history = writer_history()
    acked = acked_before_t0(history)
    last_two_seconds = {n for n in acked if n > max(acked) - 40}
    drill = drill_with(history, tmp_path, survivors=acked - last_two_seconds)
    with pytest.raises(CheckFailed, match=r"Redis keys lost check fail.*threshold 1 s of writes"):
        redis_steps.redis_writes_lost(drill, None, 1, "second")
    kept = drill_with(history, tmp_path, survivors=acked)
    redis_steps.redis_writes_lost(kept, None, 1, "second")
    [verdict] = kept.verdicts
    assert verdict.result.unit == "s of writes"
    assert verdict.result.shown == "0.05 s of writes"


def test_writes_lost_step_is_not_measured_without_a_write_before_the_fault(tmp_path):
    drill = drill_with(History(), tmp_path, survivors=set())
    with pytest.raises(CheckFailed, match="Redis keys lost check not measured"):
        redis_steps.redis_writes_lost(drill, None, 1, "second")


def test_came_back_empty_step_fails_when_keys_survived_the_rebuild(tmp_path):
    history = writer_history()
    drill = drill_with(history, tmp_path, survivors={1, 2})
    with pytest.raises(CheckFailed, match=r"writes kept after the rebuild check fail.*measured 2"):
        redis_steps.came_back_empty_step(drill, None)
    redis_steps.came_back_empty_step(drill_with(history, tmp_path, survivors=set()), None)


class FakeRedis:
    """The SCAN of a node holding `numbers` of the writer's keys; counts how often it is read."""

    def __init__(self, prefix: str, numbers: set[int]) -> None:
        self.keys = [f"{prefix}:{n}".encode() for n in numbers]
        self.scans = 0

    def __enter__(self) -> FakeRedis:
        return self

    def __exit__(self, *exc: object) -> None:
        pass

    def scan_iter(self, match: str, count: int) -> list[bytes]:
        self.scans += 1
        return self.keys


def test_survivors_are_read_once_on_the_node_the_service_uses(tmp_path):
    history = writer_history()
    writer = RedisWriter(history, lambda: "redis://unused")
    nodes = {
        "primary": FakeRedis(writer.prefix, set()),
        "replica": FakeRedis(writer.prefix, acked_before_t0(history)),
    }
    cache = SimpleNamespace(client=nodes.__getitem__)
    drill = drill_with(history, tmp_path)
    drill.remember(redis_steps.RedisWrites(writer))
    drill.remember(CacheInUse("replica"))
    redis_steps.redis_writes_lost(drill, cache, 1, "second")
    with pytest.raises(CheckFailed, match="writes kept after the rebuild check fail"):
        redis_steps.came_back_empty_step(drill, cache)
    assert (nodes["replica"].scans, nodes["primary"].scans) == (1, 0)
    assert drill.recall(redis_steps.RedisSurvivors).node == "replica"


def test_survivors_need_the_redis_writer(tmp_path):
    drill = drill_with(writer_history(), tmp_path)
    drill.remember(CacheInUse("primary"))
    with pytest.raises(MissingStep, match="a Redis writer acknowledges numbered keys"):
        redis_steps.came_back_empty_step(drill, SimpleNamespace())


def test_hit_rate_step_fails_when_the_hit_rate_stays_low(tmp_path):
    low = stats_history(lambda offset: 0.95 if offset < 0 else 0.6)
    with pytest.raises(CheckFailed, match=r"hit rate back check fail.*not back to 80%"):
        redis_steps.hit_rate_back(drill_with(low, tmp_path), 80, 60, "minutes")
    recovering = stats_history(cold_cache, down=(0, 1))
    redis_steps.hit_rate_back(drill_with(recovering, tmp_path), 80, 60, "minutes")


def test_signal_step_fails_when_neither_condition_held(tmp_path):
    healthy = drill_with(stats_history(cold_cache), tmp_path)
    with pytest.raises(CheckFailed, match=r"signal hit rate <20% or unreachable check fail"):
        redis_steps.signal_after_fault(healthy, 20, 1, "minutes")
    late = drill_with(stats_history(cold_cache, down=(1, 2)), tmp_path)
    with pytest.raises(CheckFailed, match=r"unreachable check fail.*threshold 0.5 s"):
        redis_steps.signal_after_fault(late, 20, 0.5, "seconds")
    on_time = drill_with(stats_history(cold_cache, down=(1, 2)), tmp_path)
    redis_steps.signal_after_fault(on_time, 20, 1, "minutes")


class QuotaService:
    """The service's quota as the quota steps see it: per user, limit, counter and usage."""

    def __init__(self, limit: int = 10, enforced: bool = True) -> None:
        self.limit = limit
        self.enforced = enforced
        self.counters: dict[str, int | None] = {}
        self.usage: dict[str, int] = {}

    def add_users(self, users: list[str], daily_limit: int) -> None:
        self.limit = daily_limit
        for user in users:
            self.counters[user], self.usage[user] = 0, 0

    def lookup(self, word: str, user: str) -> tuple[int, dict, dict]:
        if self.enforced and self.usage[user] >= self.limit:
            return 429, {}, {"error": "quota_exceeded"}
        self.usage[user] += 1
        if self.counters[user] is not None:
            self.counters[user] += 1
        return 200, {}, {}

    def quota(self, user: str) -> dict:
        return {"limit": self.limit, "counter": self.counters[user], "day": "2026-05-04"}

    def lookups_today(self, user: str, day: str) -> int:
        return self.usage[user]


def test_quota_step_fails_when_a_user_gets_more_than_allowed(tmp_path):
    service = QuotaService()
    drill = drill_with(History(), tmp_path)
    redis_steps.quota_users(drill, service, 2, 10)
    a, b = drill.recall(redis_steps.QuotaUsers).users
    assert (service.usage[a], service.usage[b]) == (10, 10)
    service.counters[a] = None  # the counter lost and not recomputed: the quota fails open
    with pytest.raises(CheckFailed, match=r"users with a wrong quota check fail.*1 of 2 users"):
        redis_steps.quota_matches(drill, service)

    recomputed = QuotaService()
    drill = drill_with(History(), tmp_path)
    redis_steps.quota_users(drill, recomputed, 2, 10)
    redis_steps.quota_matches(drill, recomputed)


def test_quota_users_step_refuses_a_service_that_does_not_enforce_the_quota(tmp_path):
    drill = drill_with(History(), tmp_path)
    with pytest.raises(DrillError, match="the quota of 3 was not enforced before the fault"):
        redis_steps.quota_users(drill, QuotaService(enforced=False), 2, 3)


def test_quota_check_needs_the_quota_users(tmp_path):
    with pytest.raises(MissingStep, match="users with a daily quota"):
        redis_steps.quota_matches(drill_with(History(), tmp_path), QuotaService())


def test_writer_and_sampler_follow_the_service_to_the_replica(tmp_path):
    drill = drill_with(History(), tmp_path)
    started: list = []
    drill.run_client = started.append  # the clients are not started
    cache = SimpleNamespace(url=lambda node: f"redis://{node}")
    service = SimpleNamespace(
        cache_stats=lambda: {"hits": 0},
        point_cache=lambda node: remediation(
            "switch endpoint", f"service redis -> {node}", lambda: {"redis": node}
        ),
    )
    redis_steps.redis_writer(drill, cache, PROFILE, 20)
    redis_steps.hit_rate_sampled(drill, service, cache, PROFILE, 200)
    writer, sampler = started
    assert isinstance(writer, RedisWriter) and isinstance(sampler, RedisStatsSampler)
    assert writer._client.url() == sampler._client.url() == "redis://primary"

    redis_steps.point_at_replica(drill, service)

    assert writer._client.url() == sampler._client.url() == "redis://replica"
    assert drill.recall(CacheInUse).node == "replica"
    [switch] = drill.remediations("switch endpoint")
    assert switch.value["target"] == "service redis -> replica"


def test_fault_and_remediation_steps_are_operations_of_the_history(tmp_path):
    drill = make_drill(History(), tmp_path)
    drill.journal = FaultJournal(tmp_path / "journal.jsonl", lambda line: None)
    done: list[str] = []
    cache = SimpleNamespace(
        kill_primary=lambda: fault("kill -9", "redis primary", lambda: 4242, lambda: None),
        wipe_primary=lambda: fault(
            "AOF and RDB deleted", "redis primary", lambda: None, lambda: None
        ),
        restart_primary=lambda: remediation("restart", "redis primary", lambda: 0.07),
        promote_replica=lambda: remediation("promote", "redis replica", lambda: None),
        info=lambda node, section: {"role": "master"},
    )
    service = SimpleNamespace(
        recompute_quota=lambda: remediation(
            "quota compensation", "quota counters", lambda: done.append("recompute") or {}
        )
    )
    redis_steps.kill_primary(drill, cache)
    redis_steps.delete_persistence(drill, cache)
    redis_steps.restart_primary(drill, cache)
    redis_steps.promote_replica(drill, cache)
    redis_steps.compensation_job(drill, service)
    ops = drill.history.ops(process=NEMESIS)
    assert [(op.f, op.value["kind"]) for op in ops] == [
        ("fault", "kill -9"),
        ("fault", "AOF and RDB deleted"),
        ("remediation", "restart"),
        ("remediation", "promote"),
        ("remediation", "quota compensation"),
    ]
    assert drill.t0 == ops[0].start and done == ["recompute"]
    drill.journal.revert_all()


def sampling(history: History, tmp_path: Path, running: bool = True) -> Drill:
    """A drill whose workload (the hit-rate sampler among it) is running or has stopped."""
    drill = drill_with(history, tmp_path)
    drill.workload = SimpleNamespace(running=running)
    return drill


def no_fixture(name: str) -> None:
    raise AssertionError(f"the hit-rate condition asked for the fixture {name!r}")


def wait(drill: Drill, seconds: float, condition: str) -> None:
    request = SimpleNamespace(getfixturevalue=no_fixture)
    conditions.within(request, drill, lambda _: None, seconds, condition)


def test_hit_rate_condition_times_out_with_the_last_sample(tmp_path):
    drill = sampling(stats_history(lambda offset: 0.5), tmp_path)
    with pytest.raises(WaitTimeout, match=r"timed out after 0.2 s .* hit rate 50%"):
        wait(drill, 0.2, "the Redis hit rate is at least 80%")
    recovered = sampling(stats_history(cold_cache), tmp_path)
    wait(recovered, 0.2, "the Redis hit rate is at least 80%")
    assert recovered.recovered_at is not None and recovered.recovered_at >= T0


def test_hit_rate_condition_says_when_the_workload_has_stopped(tmp_path):
    stopped = sampling(stats_history(cold_cache), tmp_path, running=False)
    with pytest.raises(WaitTimeout, match="the workload has stopped"):
        wait(stopped, 0.2, "the Redis hit rate is at least 80%")
