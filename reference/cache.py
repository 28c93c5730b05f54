"""Redis: the result cache (optional: failures fall back to the database) and its client."""

from __future__ import annotations

import json
import logging

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from reference.config import RedisConfig
from reference.dsn import mask

log = logging.getLogger("reference.cache")


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


class ResultCache:
    """Cached lookup results; logs once when Redis starts failing and once when it recovers."""

    def __init__(self, redis: Redis, ttl_s: int) -> None:
        self.redis, self.ttl_s = redis, ttl_s
        self._failing = False

    async def get(self, word: str) -> dict | None:
        try:
            raw = await self.redis.get(_key(word))
        except RedisError as exc:
            self._failed(exc)
            return None
        self._succeeded()
        return json.loads(raw) if raw else None

    async def put(self, word: str, result: dict) -> None:
        try:
            await self.redis.set(_key(word), json.dumps(result), ex=self.ttl_s)
        except RedisError as exc:
            self._failed(exc)
        else:
            self._succeeded()

    def _failed(self, exc: RedisError) -> None:
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
