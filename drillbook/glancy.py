"""The service's HTTP API as clients and operators call it, with a timeout on every call.

Every environment reaches Glancy the same way, so this client is shared: a call that does not
answer 2xx raises, naming the method, the URL and what came back.
"""

from __future__ import annotations

from typing import Any

import httpx

TIMEOUT_S = 10.0


class ServiceCallError(RuntimeError):
    """A call to the service failed or answered an error."""


class GlancyClient:
    def __init__(self, url: str, timeout_s: float = TIMEOUT_S) -> None:
        self.url = url
        self.timeout_s = timeout_s

    def call(self, method: str, path: str, body: dict | None = None, **params: Any) -> Any:
        """An admin or client call that must succeed; its JSON answer."""
        response = self._send(method, path, body, params)
        if response.status_code >= 300:
            raise ServiceCallError(
                f"{method} {self.url}{path} answered {response.status_code}: {response.text[:500]}"
            )
        return response.json()

    def request(self, method: str, path: str, **params: Any) -> tuple[int, dict[str, str], dict]:
        """A client request as it is answered, whatever the status."""
        response = self._send(method, path, None, params)
        try:
            body = response.json()
        except ValueError:
            body = {}
        return response.status_code, dict(response.headers), body if isinstance(body, dict) else {}

    def _send(self, method: str, path: str, body: dict | None, params: dict) -> httpx.Response:
        try:
            return httpx.request(
                method, self.url + path, json=body, params=params or None, timeout=self.timeout_s
            )
        except httpx.TransportError as exc:
            raise ServiceCallError(
                f"{method} {self.url}{path} failed: {type(exc).__name__}: {exc}"
            ) from exc

    def health(self) -> dict:
        return self.call("GET", "/healthz")

    def lookup(self, word: str, user: str) -> tuple[int, dict[str, str], dict]:
        return self.request("GET", "/lookup", word=word, user=user)

    def regenerate(self, word: str, user: str) -> tuple[int, dict]:
        status, _headers, body = self.request("POST", "/regenerate", word=word, user=user)
        return status, body

    def history(self, user: str) -> list[dict]:
        return self.call("GET", "/history", user=user, limit=1000)["items"]

    def delete_history(self, user: str) -> dict:
        return self.call("DELETE", "/history", user=user)

    def replay_deletions(self, since: float) -> dict:
        return self.call("POST", "/admin/deletions/replay", {"since": since})

    def recompute_quota(self) -> dict:
        return self.call("POST", "/admin/quota/recompute")

    def quota(self, user: str) -> dict:
        return self.call("GET", "/admin/quota", user=user)

    def budget(self) -> dict:
        return self.call("GET", "/admin/budget")

    def spend(self, tokens: int) -> dict:
        return self.call("POST", "/admin/budget/spend", {"tokens": tokens})

    def refund_spend(self) -> None:
        self.call("DELETE", "/admin/budget/spend")

    def replay_exports(self) -> dict:
        return self.call("POST", "/admin/exports/replay")
