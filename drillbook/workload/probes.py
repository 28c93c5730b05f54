"""HTTP probes: what a user of the service sees, one GET per slot."""

from __future__ import annotations

import time
from collections.abc import Mapping

import httpx

from drillbook.workload.history import History, Op, short_error
from drillbook.workload.paced import PacedWorker


class HttpProbe(PacedWorker):
    """GETs `base_url + path` every `interval_s` and records each answer as an operation.

    2xx is "ok"; another status or a connection error is "fail"; a timeout once the request
    may have reached the service is "info".
    """

    def __init__(
        self,
        history: History,
        base_url: str,
        path: str,
        interval_s: float = 0.1,
        timeout_s: float = 1.0,
        params: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(f"probe:{path}", interval_s)
        self.history = history
        self.path = path
        self.params = dict(params or {})
        self.f = f"GET {path}"
        self._client = httpx.Client(base_url=base_url, timeout=httpx.Timeout(timeout_s))

    def _tick(self) -> None:
        started, clock = time.time(), time.monotonic()
        outcome, status, error = self._get()
        ended = started + (time.monotonic() - clock)
        self.history.record(
            Op(self.name, self.f, started, ended, outcome, status=status, error=error)
        )

    def _get(self) -> tuple[str, int | None, str | None]:
        try:
            response = self._client.get(self.path, params=self.params)
        except (httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            return "fail", None, short_error(exc)  # the request never left the client
        except httpx.TimeoutException as exc:
            return "info", None, short_error(exc)
        except httpx.HTTPError as exc:
            return "fail", None, short_error(exc)
        if response.is_success:
            return "ok", response.status_code, None
        return "fail", response.status_code, f"HTTP {response.status_code}: {response.text[:120]}"

    def _close(self) -> None:
        self._client.close()
