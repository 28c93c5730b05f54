"""Monitoring through Prometheus's HTTP API and the harness's alert receiver
(drillbook.stack.alert_receiver): the embedded stack's own, or a team's that deliver to one."""

from __future__ import annotations

import httpx

from drillbook.capabilities.monitoring import FRONT_DOOR_REQUESTS, RangeSeries, RequestCounter

API_TIMEOUT_S = 5.0


class MonitoringUnreachable(RuntimeError):
    pass


class PrometheusMonitoring:
    def __init__(
        self,
        prometheus_url: str,
        receiver_url: str,
        scrape_interval_s: float,
        front_door: RequestCounter = FRONT_DOOR_REQUESTS,
    ) -> None:
        self.prometheus_url = prometheus_url.rstrip("/")
        self.receiver_url = receiver_url.rstrip("/")
        self.scrape_interval_s = scrape_interval_s
        self.front_door = front_door

    def describe(self) -> str:
        return f"Prometheus {self.prometheus_url}, alert receiver {self.receiver_url}"

    def notifications(self, since: float) -> list[dict]:
        return self._get(f"{self.receiver_url}/notifications", {"since": repr(since)})

    def query_range(
        self, expr: str, start: float, end: float, step_s: float, by: str
    ) -> RangeSeries:
        params = {"query": expr, "start": start, "end": end, "step": step_s}
        answer = self._get(f"{self.prometheus_url}/api/v1/query_range", params)
        if answer.get("status") != "success":
            raise MonitoringUnreachable(
                f"Prometheus {self.prometheus_url} refused {expr!r}: {answer.get('error')}"
            )
        return {
            series["metric"].get(by, ""): [(float(t), float(v)) for t, v in series["values"]]
            for series in answer["data"]["result"]
        }

    def _get(self, url: str, params: dict) -> object:
        try:
            response = httpx.get(url, params=params, timeout=API_TIMEOUT_S)
        except httpx.HTTPError as exc:
            raise MonitoringUnreachable(f"{url}: {type(exc).__name__}: {exc}") from exc
        # Prometheus answers a query it refuses with 400 or 422 and says why in its JSON body
        if not response.is_success and response.status_code not in (400, 422):
            raise MonitoringUnreachable(
                f"{url} answered {response.status_code}: {response.text[:200]}"
            )
        try:
            return response.json()
        except ValueError as exc:
            raise MonitoringUnreachable(
                f"{url} answered {response.status_code} with no JSON: {response.text[:200]}"
            ) from exc
