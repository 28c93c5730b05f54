"""A Redis writer whose acknowledged keys are later checked for loss (the `everysec` promise)."""

from __future__ import annotations

import itertools
import secrets
import time
from collections.abc import Callable

import redis

from drillbook.workload.history import History, Op, short_error
from drillbook.workload.paced import PacedWorker
from drillbook.workload.probes import RedisClientOf, outcome_of, timed


class RedisWriter(PacedWorker):
    """SETs keys `<prefix>:1`, `:2`, ... one per slot, each holding its wall-clock write time,
    on the Redis that `url()` names (asked again when it changes, so a failover redirects it).
    Records process "redis:writer", f "SET", value the key's number. The prefix is new for each
    writer, so keys of an earlier drill are never taken for survivors."""

    def __init__(
        self,
        history: History,
        url: Callable[[], str],
        interval_s: float = 0.02,
        timeout_s: float = 1.0,
        ttl_s: int = 3600,
    ) -> None:
        self._client = RedisClientOf(url, timeout_s)
        super().__init__("redis:writer", interval_s, tick_timeout_s=self._client.longest_s)
        self.history = history
        self.prefix = f"drillbook:writes:{secrets.token_hex(4)}"
        self.ttl_s = ttl_s
        self._ids = itertools.count(1)

    def _tick(self) -> None:
        write_id = next(self._ids)
        started, ended, (outcome, error) = timed(lambda: self._write(write_id))
        self.history.record(
            Op(self.name, "SET", started, ended, outcome, value=write_id, error=error)
        )

    def _write(self, write_id: int) -> tuple[str, str | None]:
        try:
            client = self._client.get()
            client.set(f"{self.prefix}:{write_id}", repr(time.time()), ex=self.ttl_s)
        except Exception as exc:  # url() is the caller's code: any failure means no write
            return outcome_of(exc), short_error(exc)
        return "ok", None

    def surviving_ids(self, client: redis.Redis) -> set[int]:
        """The numbers of this writer's keys present now on the node of `client`."""
        keys = client.scan_iter(match=f"{self.prefix}:*", count=1000)
        return {int(key.rsplit(b":", 1)[1]) for key in keys}

    def _close(self) -> None:
        self._client.close()
