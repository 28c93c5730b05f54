"""The Doubao adapter: an OpenAI-compatible chat completion behind a circuit breaker.

Every call is bounded by ``llm.timeout_s`` as a whole (connect, send, wait, read), so a
slow or blackholed LLM costs a lookup at most that long; once the breaker is open it costs
nothing, because no call is made.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

import httpx

from reference.config import BreakerConfig, LlmConfig

T = TypeVar("T")

CLOSED, OPEN, HALF_OPEN, DISABLED = "closed", "open", "half_open", "disabled"
COMPLETIONS_PATH = "/v1/chat/completions"
_TRANSITIONS_KEPT = 20

log = logging.getLogger("reference.llm")


class LlmFailure(Exception):
    """No usable completion; reason is what a degraded answer reports."""

    reason = "llm_error"


class CircuitOpen(LlmFailure):
    reason = "llm_circuit_open"


class LlmUnavailable(LlmFailure):
    """The LLM did not answer properly (connection error, 5xx, malformed body): counted."""


class LlmTimeout(LlmUnavailable):
    reason = "llm_timeout"


class LlmRejected(LlmFailure):
    """A 4xx: the LLM is up but refused this request, which says nothing about its health."""


class CircuitBreaker:
    """closed → open after failure_threshold counted failures within window_s; open fails
    fast for open_s; half_open admits half_open_probes calls: a success closes, a failure
    reopens.

    State only changes in synchronous code between awaits, so one event loop needs no lock.
    Each admitted call holds a ticket (the generation it was admitted in): the outcome of a
    call that outlived a transition is ignored, so a slow call admitted while closed cannot
    close a breaker that its successors opened.
    """

    def __init__(
        self,
        config: BreakerConfig,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.config = config
        self._clock, self._wall = clock, wall
        self._state = CLOSED if config.enabled else DISABLED
        self._failures: deque[float] = deque()
        self._opened_at: float | None = None  # clock time, drives open → half_open
        self._opened_wall: float | None = None  # wall time, reported
        self._probes = 0
        self._generation = 0
        self._transitions: deque[dict] = deque(maxlen=_TRANSITIONS_KEPT)

    @property
    def state(self) -> str:
        self._advance()
        return self._state

    def snapshot(self) -> dict:
        """State, opening time (epoch s), failures in the window and the last transitions."""
        self._advance()
        self._prune()
        return {
            "state": self._state,
            "opened_at": self._opened_wall,
            "failures": len(self._failures),
            "transitions": list(self._transitions),
        }

    def admit(self) -> int:
        """A ticket for one call, or CircuitOpen when the call must not be made."""
        if self._state == DISABLED:
            return self._generation
        self._advance()
        if self._state == OPEN or (
            self._state == HALF_OPEN and self._probes >= self.config.half_open_probes
        ):
            raise CircuitOpen(f"llm circuit {self._state}")
        if self._state == HALF_OPEN:
            self._probes += 1
        return self._generation

    def record_success(self, ticket: int) -> None:
        if ticket == self._generation and self._state == HALF_OPEN:
            self._transition(CLOSED, "probe succeeded")

    def record_failure(self, ticket: int) -> None:
        if ticket != self._generation:
            return
        if self._state == HALF_OPEN:
            self._open("probe failed")
        elif self._state == CLOSED:
            self._failures.append(self._clock())
            self._prune()
            if len(self._failures) >= self.config.failure_threshold:
                self._open(f"{len(self._failures)} failures within {self.config.window_s:g} s")

    def release(self, ticket: int) -> None:
        """The call ended without a verdict (cancelled, 4xx): its probe slot is free again."""
        if ticket == self._generation and self._state == HALF_OPEN:
            self._probes -= 1

    async def call(self, fn: Callable[[], Awaitable[T]]) -> T:
        ticket = self.admit()
        try:
            result = await fn()
        except LlmUnavailable:
            self.record_failure(ticket)
            raise
        except BaseException:
            self.release(ticket)
            raise
        self.record_success(ticket)
        return result

    def _advance(self) -> None:
        if self._state == OPEN and self._clock() - self._opened_at >= self.config.open_s:
            # reported at the moment open_s ended, not when the next call noticed it
            self._transition(HALF_OPEN, "open_s elapsed", self._opened_wall + self.config.open_s)

    def _prune(self) -> None:
        horizon = self._clock() - self.config.window_s
        while self._failures and self._failures[0] <= horizon:
            self._failures.popleft()

    def _open(self, reason: str) -> None:
        self._opened_at, self._opened_wall = self._clock(), self._wall()
        self._transition(OPEN, reason)

    def _transition(self, to: str, reason: str, at: float | None = None) -> None:
        at = self._wall() if at is None else at
        self._transitions.append({"from": self._state, "to": to, "at": at, "reason": reason})
        log.warning("llm circuit %s -> %s: %s", self._state, to, reason)
        self._state, self._probes = to, 0
        self._generation += 1
        if to == CLOSED:
            self._failures.clear()
            self._opened_at = self._opened_wall = None


@dataclass(frozen=True)
class Completion:
    content: str
    total_tokens: int


class LlmClient:
    """Chat completions from the configured model, through the breaker."""

    def __init__(self, config: LlmConfig) -> None:
        self.config = config
        self.breaker = CircuitBreaker(config.breaker)
        self._http = httpx.AsyncClient(base_url=config.url, timeout=httpx.Timeout(config.timeout_s))

    async def aclose(self) -> None:
        await self._http.aclose()

    async def complete(self, prompt: str) -> Completion:
        """The completion of prompt, or an LlmFailure naming why there is none."""
        return await self.breaker.call(lambda: self._request(prompt))

    async def _request(self, prompt: str) -> Completion:
        body = {"model": self.config.model, "messages": [{"role": "user", "content": prompt}]}
        try:
            # httpx bounds each phase separately; the whole call gets one deadline
            async with asyncio.timeout(self.config.timeout_s):
                response = await self._http.post(COMPLETIONS_PATH, json=body)
        except (TimeoutError, httpx.TimeoutException):
            raise LlmTimeout(f"no completion within {self.config.timeout_s:g} s") from None
        except httpx.HTTPError as exc:
            raise LlmUnavailable(f"{type(exc).__name__}: {exc}") from None
        if response.status_code >= 500:
            raise LlmUnavailable(f"HTTP {response.status_code}")
        if response.status_code >= 400:
            raise LlmRejected(f"HTTP {response.status_code}: {response.text[:200]}")
        try:
            data = response.json()
            content = data["choices"][0]["message"]["content"]
            tokens = data["usage"]["total_tokens"]
        except (ValueError, LookupError, TypeError) as exc:
            raise LlmUnavailable(f"malformed completion: {exc!r}") from None
        if not isinstance(content, str) or not isinstance(tokens, int):
            raise LlmUnavailable("malformed completion: content or total_tokens of wrong type")
        return Completion(content, tokens)
