"""Monitoring: the plan's signals as the team's alerting system sees them (seed sections 2 and
7): the notifications Alertmanager delivered, and Prometheus's range queries."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

# label value -> [(epoch s, value)], one series per value of the label a query is grouped by
RangeSeries = dict[str, list[tuple[float, float]]]


@dataclass(frozen=True)
class RequestCounter:
    """A Prometheus counter of requests, labelled with the request's path (`/lookup`) and its
    status code: what section 7's RTO is read from."""

    metric: str
    endpoint_label: str = "endpoint"
    status_label: str = "status"


# The embedded front door's, counted by mtail from its access log; a live profile names its
# load balancer's (`live.endpoints.monitoring.front_door`).
FRONT_DOOR_REQUESTS = RequestCounter("front_door_http_requests_total")


class Monitoring(Protocol):
    scrape_interval_s: float
    # the requests the clients' way in (a load balancer, the front door) answered
    front_door: RequestCounter

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
