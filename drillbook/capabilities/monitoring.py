"""Monitoring: the plan's signals as the team's alerting system sees them (seed sections 2 and
7): the notifications Alertmanager delivered, and Prometheus's range queries."""

from __future__ import annotations

from typing import Protocol

# label value -> [(epoch s, value)], one series per value of the label a query is grouped by
RangeSeries = dict[str, list[tuple[float, float]]]


class Monitoring(Protocol):
    scrape_interval_s: float

    def notifications(self, since: float) -> list[dict]:
        """Alertmanager's webhook payloads that reached the harness's receiver at or after
        `since` (epoch s), each with `received_at` added, in the order they arrived."""
        ...

    def query_range(
        self, expr: str, start: float, end: float, step_s: float, by: str
    ) -> RangeSeries:
        """A PromQL range query, its series keyed by their label `by`."""
        ...

    def describe(self) -> str:
        """Where the notifications and the queries go, for messages and the report."""
        ...
