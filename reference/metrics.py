"""The service's metrics for Prometheus at ``GET /metrics`` (plan section 2's signals).

Every request gets a trace id (reference.tracing), and a request answered 5xx is logged with
it. The endpoint's last 5xx is also a series, ``glancy_last_error_timestamp_seconds{endpoint,
trace_id}``, one per endpoint, so an alert rule can join a failing request's trace id onto the
alert, and so is its last request slower than the plan's P95 limit
(``glancy_last_slow_request_timestamp_seconds{endpoint,trace_id}``), the request a latency
page sends a responder to, which may have failed nothing; so are the last request whose
cache read found Redis unavailable
(``glancy_cache_last_unavailable_timestamp_seconds{trace_id}``), the request a Redis alert
sends a responder to, which was answered from the database, and the last that committed a
lookup to the history (``glancy_last_history_write_timestamp_seconds{trace_id}``), the write
a replication-lag alert sends a responder to (billing's are in BillingMetrics). Endpoints are
route templates (``/exports/{task_id}``), never raw paths, so the label set stays small.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from reference import tracing
from reference.billing import Payment, Reconciliation
from reference.cache import ResultCache
from reference.exports import Lag

log = logging.getLogger("reference.metrics")

# The plan's P95 limit is 2.5 s; the buckets around it resolve it.
P95_LIMIT_S = 2.5
LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, P95_LIMIT_S, 5.0, 10.0)
# The plan's signal is an entitlement later than 5 s.
LATE_ENTITLEMENT_S = 5.0
DELAY_BUCKETS = (0.1, 0.5, 1.0, 2.5, LATE_ENTITLEMENT_S, 10.0, 30.0, 60.0, 300.0)


class ServiceMetrics:
    """One replica's metrics, in a registry of their own."""

    def __init__(self, cache: ResultCache) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "glancy_http_requests",
            "Requests answered, by endpoint (route template), method and status.",
            ["endpoint", "method", "status"],
            registry=self.registry,
        )
        self.duration = Histogram(
            "glancy_http_request_duration_seconds",
            "Time to answer a request, by endpoint and method.",
            ["endpoint", "method"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.last_error = LastRequest(
            "glancy_last_error_timestamp_seconds",
            "When the endpoint last answered 5xx, labelled with that request's trace id.",
            self.registry,
        )
        self.last_slow = LastRequest(
            "glancy_last_slow_request_timestamp_seconds",
            f"When the endpoint last took longer than {P95_LIMIT_S:g} s to answer (the plan's "
            "P95 limit), labelled with that request's trace id.",
            self.registry,
        )
        self.billing = BillingMetrics(self.registry)
        self.registry.register(CacheReads(cache))
        self.history_writes = HistoryWrites()
        self.registry.register(self.history_writes)
        self.consumer_lag = ConsumerLag()
        self.registry.register(self.consumer_lag)

    def observe(self, endpoint: str, method: str, status: int, seconds: float, trace: str) -> None:
        self.requests.labels(endpoint, method, str(status)).inc()
        self.duration.labels(endpoint, method).observe(seconds)
        if status >= 500:
            log.warning("%s %s answered %d, trace_id=%s", method, endpoint, status, trace)
            self.last_error.saw(endpoint, trace)
        if seconds > P95_LIMIT_S:
            log.warning("%s %s took %.1f s, trace_id=%s", method, endpoint, seconds, trace)
            self.last_slow.saw(endpoint, trace)

    def exposition(self) -> tuple[bytes, str]:
        return generate_latest(self.registry), CONTENT_TYPE_LATEST


class LastRequest:
    """When the endpoint last answered a request of a kind, labelled with that request's
    trace id: one series per endpoint, the older trace's series removed."""

    def __init__(self, name: str, documentation: str, registry: CollectorRegistry) -> None:
        self.gauge = Gauge(name, documentation, ["endpoint", "trace_id"], registry=registry)
        self._traces: dict[str, str] = {}

    def saw(self, endpoint: str, trace: str) -> None:
        if (previous := self._traces.get(endpoint)) is not None:
            self.gauge.remove(endpoint, previous)
        self.gauge.labels(endpoint, trace).set(time.time())
        self._traces[endpoint] = trace


class BillingMetrics(Collector):
    """How late entitlements come after their payments, and what the last reconciliation this
    replica ran left unresolved. A payment carries the trace id of its checkout
    (reference.billing): the newest traced payment left unresolved and the last entitled late
    are series labelled with it, the requests a billing page sends a responder to. Each
    replica answers for the reconciliations it ran, so when it last ran one is a series too:
    the alerts read the replica that ran the newest."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.delay = Histogram(
            "glancy_billing_entitlement_delay_seconds",
            "From a payment (the provider's time) to its entitlement being granted.",
            buckets=DELAY_BUCKETS,
            registry=registry,
        )
        self.unresolved = Gauge(
            "glancy_billing_reconciliation_unresolved",
            "What the last reconciliation found and could not repair, by kind.",
            ["kind"],
            registry=registry,
        )
        self.reconciled_at = Gauge(
            "glancy_billing_last_reconciliation_timestamp_seconds",
            "When this replica last ran the reconciliation.",
            registry=registry,
        )
        self.newest_unresolved: tuple[float, str] | None = None
        self.last_late: tuple[float, str] | None = None
        registry.register(self)

    def entitled(self, payments: list[Payment], at: float) -> None:
        """`payments` were granted their entitlements at `at`."""
        for payment in payments:
            delay = max(0.0, at - payment.paid_at)
            self.delay.observe(delay)
            if delay > LATE_ENTITLEMENT_S and payment.trace_id:
                self.last_late = (at, payment.trace_id)

    def reconciled(self, reconciliation: Reconciliation, at: float) -> None:
        """The reconciliation ran at `at`: its findings that repair did not mend, by kind, and
        the entitlements it granted, late by the time since their payments."""
        for kind, left in reconciliation.unresolved.items():
            self.unresolved.labels(kind).set(len(left))
        self.reconciled_at.set(at)
        traced = [p for p in reconciliation.unresolved_payments() if p.trace_id]
        # the newest: a finding an earlier drill left unresolved (a mismatched order stays)
        # would otherwise name that drill's checkout on every later page
        newest = max(traced, key=lambda p: p.paid_at, default=None)
        self.newest_unresolved = None if newest is None else (newest.paid_at, newest.trace_id)
        self.entitled(reconciliation.entitled, at)

    def collect(self) -> Iterator[GaugeMetricFamily]:
        yield from newest_trace(
            "glancy_billing_newest_unresolved_paid_timestamp_seconds",
            "When the newest payment with a trace id the last reconciliation left unresolved "
            "was paid, with that trace id.",
            self.newest_unresolved,
        )
        yield from newest_trace(
            "glancy_billing_last_late_entitlement_timestamp_seconds",
            f"When an entitlement was last granted more than {LATE_ENTITLEMENT_S:g} s after "
            "its payment, with its checkout's trace id.",
            self.last_late,
        )


class ConsumerLag(Collector):
    """The export queue's consumer lag under the plan's name, set before each scrape is
    answered; absent (no sample) while it cannot be read, rather than a stale value. While a
    task waits, when it was queued, labelled with the trace id of the request that queued it:
    the request a consumer-lag page sends a responder to."""

    def __init__(self) -> None:
        self.lag: Lag | None = None

    def collect(self) -> Iterator[GaugeMetricFamily]:
        if self.lag is None:
            return
        yield GaugeMetricFamily(
            "exports_consumer_lag_seconds",
            "How long the oldest export task no worker has finished has waited.",
            value=self.lag.seconds,
        )
        if self.lag.queued_at is not None and self.lag.trace_id:
            oldest = GaugeMetricFamily(
                "exports_oldest_waiting_queued_timestamp_seconds",
                "When the oldest waiting export task was queued, with its request's trace id.",
                labels=["trace_id"],
            )
            oldest.add_metric([self.lag.trace_id], self.lag.queued_at)
            yield oldest


class CacheReads(Collector):
    """The result cache's own read counts (hits, misses, unavailable), and when the last
    unavailable read was, labelled with its request's trace id; read at scrape time."""

    def __init__(self, cache: ResultCache) -> None:
        self.cache = cache

    def collect(self) -> Iterator[CounterMetricFamily]:
        reads = CounterMetricFamily(
            "glancy_cache_reads", "Result-cache reads of Redis, by result.", labels=["result"]
        )
        stats = self.cache.stats()
        for result, key in (("hit", "hits"), ("miss", "misses"), ("unavailable", "unavailable")):
            reads.add_metric([result], stats[key])
        yield reads
        yield from newest_trace(
            "glancy_cache_last_unavailable_timestamp_seconds",
            "When a lookup's cache read last found Redis unavailable, with its trace id.",
            self.cache.last_unavailable,
        )


class HistoryWrites(Collector):
    """When a request last committed a lookup to the history in PostgreSQL, with its trace id:
    the newest write, the one a lagging standby lacks first."""

    def __init__(self) -> None:
        self.last: tuple[float, str] | None = None

    def written(self) -> None:
        if trace := tracing.current.get():
            self.last = (time.time(), trace)

    def collect(self) -> Iterator[GaugeMetricFamily]:
        yield from newest_trace(
            "glancy_last_history_write_timestamp_seconds",
            "When a request last committed a lookup to the history, with its trace id.",
            self.last,
        )


def newest_trace(
    name: str, documentation: str, last: tuple[float, str] | None
) -> Iterator[GaugeMetricFamily]:
    """One series, (when, trace id) labelled with the trace id, once there is one: an alert
    rule picks one replica's by the time (topk, bottomk) and takes its label."""
    if last is None:
        return
    at, trace = last
    newest = GaugeMetricFamily(name, documentation, labels=["trace_id"])
    newest.add_metric([trace], at)
    yield newest
