"""The reference service's metrics: trace ids, the last 5xx per endpoint, the cache's reads and
the reconciliation's unresolved findings and late entitlements, as Prometheus reads them."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

from prometheus_client.parser import text_string_to_metric_families
from redis.exceptions import ConnectionError as RedisConnectionError

from reference import tracing
from reference.billing import Payment, Reconciliation, left_unresolved
from reference.cache import ResultCache
from reference.exports import Lag
from reference.metrics import ServiceMetrics
from reference.tracing import trace_id

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"


def cache(hits: int = 0, misses: int = 0) -> SimpleNamespace:
    return SimpleNamespace(
        stats=lambda: {"hits": hits, "misses": misses, "unavailable": 1}, last_unavailable=None
    )


class DownRedis:
    """A Redis endpoint that refuses every command, and is skipped once it has failed."""

    def __init__(self) -> None:
        self.client = self
        self.available = True

    async def get(self, key: str) -> str | None:
        raise RedisConnectionError("Connection refused")

    def failed(self) -> None:
        self.available = False

    def describe(self) -> str:
        return "redis 127.0.0.1:6379"


def samples(metrics: ServiceMetrics, name: str) -> dict[tuple, float]:
    body, _ = metrics.exposition()
    return {
        tuple(sorted(s.labels.items())): s.value
        for family in text_string_to_metric_families(body.decode())
        for s in family.samples
        if s.name == name
    }


def test_a_traceparent_gives_its_trace_id_and_anything_else_a_new_one():
    assert trace_id(f"00-{TRACE}-00f067aa0ba902b7-01") == TRACE
    fresh = trace_id("not a traceparent")
    assert len(fresh) == 32 and fresh != trace_id(None)


def test_the_last_5xx_of_an_endpoint_replaces_its_trace_id():
    metrics = ServiceMetrics(cache())
    metrics.observe("/lookup", "GET", 200, 0.01, "ok-trace")
    metrics.observe("/lookup", "GET", 503, 0.5, "first")
    metrics.observe("/lookup", "GET", 503, 0.5, TRACE)
    errors = samples(metrics, "glancy_last_error_timestamp_seconds")
    assert [dict(labels)["trace_id"] for labels in errors] == [TRACE]
    requests = samples(metrics, "glancy_http_requests_total")
    assert requests[(("endpoint", "/lookup"), ("method", "GET"), ("status", "503"))] == 2


def test_the_last_request_over_the_p95_limit_names_its_trace_id_per_endpoint():
    metrics = ServiceMetrics(cache())
    metrics.observe("/lookup", "GET", 200, 2.5, "at-the-limit")
    assert samples(metrics, "glancy_last_slow_request_timestamp_seconds") == {}
    metrics.observe("/lookup", "GET", 200, 3.1, "first")
    metrics.observe("/lookup", "GET", 200, 2.6, TRACE)
    metrics.observe("/history", "GET", 200, 4.0, "history-trace")
    slow = samples(metrics, "glancy_last_slow_request_timestamp_seconds")
    assert {dict(labels)["trace_id"] for labels in slow} == {"history-trace", TRACE}
    assert samples(metrics, "glancy_last_error_timestamp_seconds") == {}


def test_the_cache_reads_are_the_caches_own_counts():
    reads = samples(ServiceMetrics(cache(hits=9, misses=3)), "glancy_cache_reads_total")
    assert {dict(labels)["result"]: value for labels, value in reads.items()} == {
        "hit": 9,
        "miss": 3,
        "unavailable": 1,
    }


def test_the_newest_read_that_found_redis_unavailable_carries_its_requests_trace_id():
    """Failed or skipped after a failure, the newest unavailable read names its request; a read
    outside any request (no trace) leaves the series as it was, and none before the first."""
    result_cache = ResultCache(DownRedis(), ttl_s=300)
    metrics = ServiceMetrics(result_cache)
    assert samples(metrics, "glancy_cache_last_unavailable_timestamp_seconds") == {}

    async def lookup(trace: str | None) -> None:
        tracing.current.set(trace)
        await result_cache.get("lucid")

    for trace in ("first", TRACE, None):  # refused, then skipped, then no request at all
        asyncio.run(lookup(trace))
    newest = samples(metrics, "glancy_cache_last_unavailable_timestamp_seconds")
    assert [dict(labels)["trace_id"] for labels in newest] == [TRACE]
    assert result_cache.unavailable == 3


def test_the_newest_history_write_carries_its_requests_trace_id():
    metrics = ServiceMetrics(cache())
    metrics.history_writes.written()  # outside any request: nothing to name
    assert samples(metrics, "glancy_last_history_write_timestamp_seconds") == {}
    for trace in ("first", TRACE):
        tracing.current.set(trace)
        metrics.history_writes.written()
    newest = samples(metrics, "glancy_last_history_write_timestamp_seconds")
    assert [dict(labels)["trace_id"] for labels in newest] == [TRACE]
    tracing.current.set(None)


def paid(pid: str, at: float, trace: str | None = None) -> Payment:
    return Payment(pid, "user-1", "monthly", 1800, at, trace)


def reconciliation(
    problems: dict[str, list[str]], repaired: list[str], payments: list[Payment]
) -> Reconciliation:
    by_id = {p.id: p for p in payments}
    return Reconciliation(
        {**problems, "repaired": repaired},
        left_unresolved(problems, repaired),
        by_id,
        [by_id[pid] for pid in repaired],
    )


def test_a_reconciliation_counts_only_what_it_did_not_repair():
    metrics = ServiceMetrics(cache())
    # "m" differs from its payment and lacked an entitlement: granting it leaves the mismatch
    problems = {
        "missing_orders": ["a"],
        "unknown_orders": ["x"],
        "mismatched_orders": ["m"],
        "orders_without_entitlement": ["m"],
    }
    done = reconciliation(problems, ["a", "m"], [paid("a", 1.0), paid("m", 2.0)])
    metrics.billing.reconciled(done, 1_700_000_000.0)
    unresolved = samples(metrics, "glancy_billing_reconciliation_unresolved")
    assert {dict(labels)["kind"]: value for labels, value in unresolved.items()} == {
        "missing_orders": 0,
        "unknown_orders": 1,
        "mismatched_orders": 1,
        "orders_without_entitlement": 0,
    }
    reconciled = samples(metrics, "glancy_billing_last_reconciliation_timestamp_seconds")
    assert reconciled == {(): 1_700_000_000.0}


def test_the_newest_unresolved_payment_carries_its_checkouts_trace_id_until_resolved():
    metrics = ServiceMetrics(cache())
    payments = [paid("b", 10.0, "older"), paid("a", 20.0, TRACE), paid("c", 25.0)]
    problems = {"missing_orders": ["a", "b", "c"]}
    metrics.billing.reconciled(reconciliation(problems, [], payments), 30.0)
    newest = samples(metrics, "glancy_billing_newest_unresolved_paid_timestamp_seconds")
    assert newest == {(("trace_id", TRACE),): 20.0}  # c has no trace to name
    metrics.billing.reconciled(reconciliation(problems, ["a", "b", "c"], payments), 40.0)
    assert samples(metrics, "glancy_billing_newest_unresolved_paid_timestamp_seconds") == {}


def test_an_entitlement_later_than_the_plans_5_s_names_its_payments_trace_id():
    metrics = ServiceMetrics(cache())
    metrics.billing.entitled([paid("a", 100.0, "on-time")], 105.0)  # 5 s is not later than 5 s
    assert samples(metrics, "glancy_billing_last_late_entitlement_timestamp_seconds") == {}
    done = reconciliation({"missing_orders": ["b"]}, ["b"], [paid("b", 100.0, TRACE)])
    metrics.billing.reconciled(done, 112.0)
    late = samples(metrics, "glancy_billing_last_late_entitlement_timestamp_seconds")
    assert late == {(("trace_id", TRACE),): 112.0}
    delays = samples(metrics, "glancy_billing_entitlement_delay_seconds_bucket")
    assert delays[(("le", "5.0"),)] == 1 and delays[(("le", "10.0"),)] == 1
    assert delays[(("le", "30.0"),)] == 2


def test_the_consumer_lag_is_exported_only_while_it_was_read():
    metrics = ServiceMetrics(cache())
    assert samples(metrics, "exports_consumer_lag_seconds") == {}
    metrics.consumer_lag.lag = Lag(61.5, 1_700_000_000.0, TRACE)
    assert samples(metrics, "exports_consumer_lag_seconds") == {(): 61.5}
    oldest = samples(metrics, "exports_oldest_waiting_queued_timestamp_seconds")
    assert oldest == {(("trace_id", TRACE),): 1_700_000_000.0}
    metrics.consumer_lag.lag = Lag(0.0)  # none waits: no oldest task to name
    assert samples(metrics, "exports_oldest_waiting_queued_timestamp_seconds") == {}
    metrics.consumer_lag.lag = None  # Redis away: no value rather than a stale one
    assert samples(metrics, "exports_consumer_lag_seconds") == {}
