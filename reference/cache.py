"""Redis: its client, which can be pointed at another node at runtime, and the result cache
(optional: failures fall back to the database)."""

from __future__ import annotations

import json
import logging
import time
from dataclasses import replace

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError, RedisError

from reference.config import RedisConfig
from reference.dsn import describe_redis, mask

log = logging.getLogger("reference.cache")

# After a failed call, optional uses of Redis (cache, quota counters) skip it this long: a
# stalled server then costs one socket timeout per period, not one per call of every request.
_SKIP_AFTER_FAILURE_S = 1.0


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

    It counts its own reads, which are the cache's hit rate (plan section 2): a hit or a miss
    for each lookup Redis answered, and as unavailable one it did not (failed, or skipped after
    a failure). Other reads of Redis, the quota and budget counters', are not cache reads and
    are not counted. The counts start at 0 when the process starts, at `since`.
    """

    def __init__(self, redis: RedisEndpoint, ttl_s: int) -> None:
        self.redis, self.ttl_s = redis, ttl_s
        self._failing = False
        self.since = time.time()
        self.hits = self.misses = self.unavailable = 0

    async def get(self, word: str) -> dict | None:
        if not self.redis.available:
            self.unavailable += 1
            return None
        try:
            raw = await self.redis.client.get(_key(word))
        except RedisError as exc:
            self.unavailable += 1
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
            "since": self.since,
            "redis": {"address": self.redis.describe(), "available": self.redis.available},
        }

    async def put(self, word: str, result: dict) -> None:
        if not self.redis.available:
            return
        try:
            await self.redis.client.set(_key(word), json.dumps(result), ex=self.ttl_s)
        except RedisError as exc:
            self._failed(exc)
        else:
            self._succeeded()

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
