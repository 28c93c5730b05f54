"""SQL and Redis probes and the replication lag sampler against the real local stack."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from drillbook.checks import rpo_lag
from drillbook.stack import LocalStack
from drillbook.waits import wait_until
from drillbook.workload import History, LagSampler, RedisProbe, SqlProbe, Workload, Writer

pytestmark = pytest.mark.integration


def wait_for_outcome(history: History, process: str, outcome: str, since: float) -> None:
    """Wait for an op whose outcome is `outcome` (or one of "a|b")."""
    wanted = set(outcome.split("|"))

    def seen() -> tuple[bool, object]:
        recent = [op.outcome for op in history.ops(process) if op.start >= since]
        return bool(wanted & set(recent)), recent[-5:]

    wait_until(f"an {outcome!r} op of {process}", seen, timeout_s=10)


def outcomes_around(
    probe: SqlProbe | RedisProbe,
    outcome: str,
    inject: Callable[[], object],
    revert: Callable[[], object],
) -> list[str]:
    """Outcomes of `probe` from the fault on, once it saw `outcome` during the fault and then a
    success after the fault was reverted."""
    history = probe.history
    with Workload(history) as workload:
        workload.add(probe)
        wait_for_outcome(history, probe.name, "ok", since=0)
        inject()
        # From here on the fault is in place: a probe that started while it was being added
        # may still have been answered.
        injected_at = time.time()
        try:
            wait_for_outcome(history, probe.name, outcome, since=injected_at)
        finally:
            revert()
        wait_for_outcome(history, probe.name, "ok", since=time.time())
    return [op.outcome for op in history.ops(probe.name) if op.start >= injected_at]


def proxy_down(stack: LocalStack, proxy: str) -> tuple[Callable[[], object], Callable[[], object]]:
    return (
        lambda: stack.toxiproxy.update_proxy(proxy, enabled=False),
        lambda: stack.toxiproxy.update_proxy(proxy, enabled=True),
    )


def proxy_silent(
    stack: LocalStack, proxy: str
) -> tuple[Callable[[], object], Callable[[], object]]:
    """Toxiproxy's timeout toxic with timeout 0: the connection stays open, no answer comes."""
    return (
        lambda: stack.toxiproxy.add_toxic(proxy, "silent", "timeout", {"timeout": 0}),
        lambda: stack.toxiproxy.remove_toxic(proxy, "silent"),
    )


def test_sql_probe_and_lag_sampler_while_rows_are_written(stack: LocalStack):
    history = History()
    primary, standby = stack.pg.primary, stack.pg.standby
    sampler = LagSampler(history, lambda: standby.admin_dsn, lambda: primary.admin_dsn, 0.1)
    with Workload(history) as workload:
        workload.add(SqlProbe(history, lambda: primary.app_dsn, "az-a", interval_s=0.05))
        workload.add(sampler)
        workload.add(Writer(history, lambda: primary.app_dsn, interval_s=0.02))
        time.sleep(2.0)
    t0 = time.time()

    queries = history.ops("sql:az-a")
    assert len(queries) >= 20
    assert {op.outcome for op in queries} == {"ok"}, [op.error for op in queries]
    assert {op.f for op in queries} == {"SELECT 1"}

    samples = history.ops("lag:az-b")
    assert len(samples) >= 10
    assert {op.outcome for op in samples} == {"ok"}, [op.error for op in samples]
    for op in samples:
        value = op.value
        assert value["streaming"] is True
        assert value["standby_receive_replay_bytes"] >= 0
        assert value["primary_sent_replay_bytes"] >= 0
        assert value["primary_replay_lag_s"] is None or 0 <= value["primary_replay_lag_s"] < 5
    # Writes every 20 ms: the standby has replayed a recent one (same clock, so about 0 s).
    assert -0.5 < samples[-1].value["standby_replay_delay_s"] < 5

    result = rpo_lag(history, t0, 5)
    assert result.passed, result.explanation
    assert result.figure < 5
    assert result.details["samples_before_t0"] == len(samples)


def sql_probe(stack: LocalStack) -> SqlProbe:
    return SqlProbe(
        History(), lambda: stack.pg.primary.app_dsn, "az-a", interval_s=0.05, timeout_s=0.5
    )


def redis_probe(stack: LocalStack) -> RedisProbe:
    url = stack.redis.primary.url
    return RedisProbe(History(), lambda: url, "redis", interval_s=0.05, timeout_s=0.5)


def test_sql_probe_fails_while_its_proxy_is_down_then_reconnects(stack: LocalStack):
    outcomes = outcomes_around(sql_probe(stack), "fail", *proxy_down(stack, "pg-az-a"))
    assert outcomes[-1] == "ok"


def test_sql_probe_never_records_a_silent_server_as_ok(stack: LocalStack):
    # A query hung on the kept connection is cut by the deadline ("info"); when adding the
    # toxic resets that connection, the reconnect gets no answer ("fail"): either, never "ok".
    outcomes = outcomes_around(sql_probe(stack), "info|fail", *proxy_silent(stack, "pg-az-a"))
    first_ok = outcomes.index("ok")
    assert first_ok > 0 and set(outcomes[:first_ok]) <= {"info", "fail"}
    assert outcomes[-1] == "ok"


def test_redis_probe_fails_while_its_proxy_is_down_then_recovers(stack: LocalStack):
    outcomes = outcomes_around(redis_probe(stack), "fail", *proxy_down(stack, "redis"))
    assert outcomes[-1] == "ok"


def test_redis_probe_records_a_silent_server_as_indeterminate(stack: LocalStack):
    outcomes = outcomes_around(redis_probe(stack), "info", *proxy_silent(stack, "redis"))
    assert outcomes[-1] == "ok"
