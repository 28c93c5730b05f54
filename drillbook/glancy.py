"""The service's HTTP API as clients and operators call it, with a timeout on every call.

Every environment reaches Glancy the same way, so this client is shared: a call that does not
answer 2xx raises, naming the method, the URL and what came back. So are the rules that make one
answer of several replicas' (each has its own breaker, cache counters and configuration).
"""

from __future__ import annotations

from typing import Any

import httpx

TIMEOUT_S = 10.0

# The most lookups GET /history returns: a user has more after a long drill probed at 50 Hz.
HISTORY_LIMIT = 1000


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
        """The user's newest lookups, at most HISTORY_LIMIT of them."""
        return self.call("GET", "/history", user=user, limit=HISTORY_LIMIT)["items"]

    def delete_history(self, user: str) -> dict:
        return self.call("DELETE", "/history", user=user)

    def replay_deletions(self, since: float) -> dict:
        return self.call("POST", "/admin/deletions/replay", {"since": since})

    def reconcile_orders(self) -> dict:
        return self.call("POST", "/admin/billing/reconcile", {"repair": True})

    def check_orders(self) -> dict:
        return self.call("POST", "/admin/billing/reconcile", {"repair": False})

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

    def downloaded(self, task_id: str) -> bytes:
        """What a user holding the export task downloads: its status, then the bytes its
        download link serves (a presigned link, fetched as it is, with the same timeout)."""
        task = self.call("GET", f"/exports/{task_id}")
        link = task.get("download_url")
        if task.get("status") != "done" or not link:
            raise ServiceCallError(f"export {task_id} is {task.get('status')}: no download link")
        try:
            response = httpx.get(link, timeout=self.timeout_s)
        except httpx.TransportError as exc:
            raise ServiceCallError(
                f"download of export {task_id} failed: {type(exc).__name__}: {exc}"
            ) from exc
        if response.status_code != 200:
            raise ServiceCallError(
                f"download of export {task_id} answered {response.status_code}: "
                f"{response.text[:200]}"
            )
        return response.content

    def version(self) -> str:
        """The version this replica runs, as it reports it."""
        return self.health()["version"]

    def llm_breaker(self) -> dict:
        """The LLM adapter's circuit breaker: state and recent transitions."""
        return self.call("GET", "/admin/llm")

    def cache_stats(self) -> dict:
        """Its result-cache reads since it started: `hits`, `misses`, `unavailable`, `since`
        (epoch seconds) and `redis` (the node, whether it is used now)."""
        return self.call("GET", "/admin/cache/stats")


def same_answer(answers: list[dict]) -> dict:
    """The answer every replica gave; replicas that disagree are an error."""
    if any(answer != answers[0] for answer in answers):
        raise RuntimeError(f"the service replicas disagree: {answers}")
    return answers[0]


def replicas_breaker(snapshots: list[dict]) -> dict:
    """Every replica's breaker (in replica order): the state they share ("mixed" while they
    differ) and all transitions, oldest first, each naming its replica (numbered from 1)."""
    states = {snapshot["state"] for snapshot in snapshots}
    transitions = [
        {**transition, "replica": n}
        for n, snapshot in enumerate(snapshots, 1)
        for transition in snapshot["transitions"]
    ]
    return {
        "state": states.pop() if len(states) == 1 else "mixed",
        "transitions": sorted(transitions, key=lambda t: t["at"]),
        "replicas": snapshots,
    }


def replicas_cache_stats(answers: list[dict]) -> dict:
    """The service's result-cache reads from every replica's own answer: `hits`, `misses` and
    `unavailable` summed. `since` is the latest replica's start, so it changes whenever a
    replica restarts and its counts start again from 0; `replicas` holds each answer."""
    summed = {key: sum(a[key] for a in answers) for key in ("hits", "misses", "unavailable")}
    return {**summed, "since": max(a["since"] for a in answers), "replicas": answers}
