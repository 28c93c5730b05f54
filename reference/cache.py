"""Redis: its client, which can be pointed at another node at runtime, and the result cache
(optional: failures fall back to the database) in two tiers: each replica's own memory (L1,
short-lived, when configured) in front of Redis (L2), which every replica shares."""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, replace

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError, RedisError

from reference import tracing
from reference.config import RedisConfig
from reference.dsn import describe_redis, mask

log = logging.getLogger("reference.cache")

# After a failed call, optional uses of Redis (cache, quota counters) skip it this long: a
# stalled server then costs one socket timeout per period, not one per call of every request.
_SKIP_AFTER_FAILURE_S = 1.0
# How many words the L1 holds at most; past that it starts empty again.
_L1_MAX_ENTRIES = 10_000
# Where a cached result came from, as a lookup's `source` reports it.
L1, L2 = "l1", "cache"


@dataclass(frozen=True)
class Cached:
    result: dict
    tier: str  # L1 or L2


def connect_redis(config: RedisConfig) -> Redis:
    """A client whose every call costs at most one socket timeout.

    redis-py retries three times with backoff by default, which would turn a dead
    cache into seconds of latency on every lookup.
    """
    return Redis.from_url(
        config.url,
        socket_timeout=config.socket_timeout_s,
        socket_connect_timeout=config.socket_timeout_s,
        retry=Retry(NoBackoff(), 0),
        decode_responses=True,
    )


class RedisEndpoint:
    """The service's Redis client; `switch` replaces it when an operator points the service at
    another node (PUT /admin/redis, after a replica was promoted), as for the database."""

    def __init__(self, config: RedisConfig) -> None:
        self.config = config
        self._url = config.url
        self.client = connect_redis(config)
        self._skip_until = 0.0

    def describe(self) -> str:
        return describe_redis(self._url)

    def connect(self) -> Redis:
        """A client of its own to the node in use, for a read that may be cancelled: a
        command cancelled mid-reply on the shared client once left every later lookup timing
        out (Redis 200 ms late, the consumer lag read cut at its deadline at each scrape)."""
        return connect_redis(replace(self.config, url=self._url))

    @property
    def available(self) -> bool:
        """False shortly after a failure: optional uses then go without Redis."""
        return time.monotonic() >= self._skip_until

    def failed(self) -> None:
        self._skip_until = time.monotonic() + _SKIP_AFTER_FAILURE_S

    async def switch(self, url: str) -> str:
        """Connect to url and PING it, swap the client, close the old one; keep the old one on
        failure. Raises ValueError for a URL that is not redis://, a RedisError if unreachable."""
        where = describe_redis(url)
        client = connect_redis(replace(self.config, url=url))
        try:
            await client.ping()
        except RedisError as exc:
            await client.aclose()
            detail = mask(f"{type(exc).__name__}: {exc}")
            raise ConnectionError(
                f"new redis {where} not reachable ({detail}); still using {self.describe()}"
            ) from None
        old, self.client, self._url = self.client, client, url
        self._skip_until = 0.0
        # in-flight commands on the old client fail and are handled as a Redis failure
        await old.aclose()
        log.warning("redis switched to %s", where)
        return where


class ResultCache:
    """Cached lookup results; logs once when Redis starts failing and once when it recovers.

    It counts its own reads of Redis, which are the cache's hit rate (plan section 2): a hit or
    a miss for each lookup Redis answered, and as unavailable one it did not (failed, or
    skipped after a failure). Other reads of Redis, the quota and budget counters', are not
    cache reads and are not counted; nor are the L1's hits, counted apart (`l1_hits`). The
    counts start at 0 when the process starts, at `since`.

    While L2 is forced the L1 is neither read nor filled, so every replica answers what Redis
    holds (after a Redis failover, the promoted node's content rather than each replica's
    memory of the old one).
    """

    def __init__(
        self, redis: RedisEndpoint, ttl_s: int, l1_ttl_s: float = 0.0, force_l2: bool = False
    ) -> None:
        self.redis, self.ttl_s, self.l1_ttl_s = redis, ttl_s, l1_ttl_s
        self.force_l2 = force_l2
        self._l1: dict[str, tuple[float, dict]] = {}
        self._failing = False
        self.since = time.time()
        self.hits = self.misses = self.unavailable = self.l1_hits = 0
        # when a read last found Redis unavailable, and the trace id of its request
        self.last_unavailable: tuple[float, str] | None = None

    def force(self, force_l2: bool) -> dict:
        """L2 forced (the L1 emptied and left alone) or not; the mode now."""
        self.force_l2 = force_l2
        self._l1.clear()
        log.warning("result cache: L2 %s", "forced" if force_l2 else "behind the L1 again")
        return self.mode()

    def mode(self) -> dict:
        return {"l1_ttl_s": self.l1_ttl_s, "force_l2": self.force_l2}

    async def get(self, word: str) -> Cached | None:
        """From the L1 while it is used, else from Redis."""
        if self._l1_used:
            expires, result = self._l1.get(word, (0.0, {}))
            if expires > time.monotonic():
                self.l1_hits += 1
                return Cached(result, L1)
        result = await self._read(word)
        if result is None:
            return None
        self._keep(word, result)
        return Cached(result, L2)

    @property
    def _l1_used(self) -> bool:
        return self.l1_ttl_s > 0 and not self.force_l2

    def _keep(self, word: str, result: dict) -> None:
        if not self._l1_used:
            return
        if len(self._l1) >= _L1_MAX_ENTRIES:
            self._l1.clear()
        self._l1[word] = (time.monotonic() + self.l1_ttl_s, result)

    async def _read(self, word: str) -> dict | None:
        if not self.redis.available:
            self._unavailable()
            return None
        try:
            raw = await self.redis.client.get(_key(word))
        except RedisError as exc:
            self._unavailable()
            self._failed(exc)
            return None
        self._succeeded()
        if raw:
            self.hits += 1
            return json.loads(raw)
        self.misses += 1
        return None

    def stats(self) -> dict:
        """The read counts since `since` (epoch seconds), the Redis they go to and whether it is
        used now (`available`: false shortly after a failure); no I/O, so it answers at once
        whatever state Redis is in."""
        return {
            "hits": self.hits,
            "misses": self.misses,
            "unavailable": self.unavailable,
            "l1_hits": self.l1_hits,
            **self.mode(),
            "since": self.since,
            "redis": {"address": self.redis.describe(), "available": self.redis.available},
        }

    async def put(self, word: str, result: dict) -> None:
        self._keep(word, result)
        if not self.redis.available:
            return
        try:
            await self.redis.client.set(_key(word), json.dumps(result), ex=self.ttl_s)
        except RedisError as exc:
            self._failed(exc)
        else:
            self._succeeded()

    def _unavailable(self) -> None:
        self.unavailable += 1
        if trace := tracing.current.get():
            self.last_unavailable = (time.time(), trace)

    def _failed(self, exc: RedisError) -> None:
        self.redis.failed()
        if not self._failing:
            detail = mask(f"{type(exc).__name__}: {exc}")
            log.warning("redis cache failing, lookups fall back to the database: %s", detail)
        self._failing = True

    def _succeeded(self) -> None:
        if self._failing:
            log.warning("redis cache answering again")
        self._failing = False


def _key(word: str) -> str:
    return f"glancy:result:{word}"
