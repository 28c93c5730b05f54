"""Per-user daily lookup quota: Redis counters compensated from PostgreSQL (the May drill).

Every served lookup is a row of ``lookups``, so a user's rows of the day (UTC) are their usage:
PostgreSQL is authoritative. The counter ``glancy:quota:<YYYY-MM-DD>:<user>`` in Redis is the
fast path: a lookup reserves one unit on it before it is served, is refused at the limit (429
``quota_exceeded``) and gives the unit back if it is not served. The limit is the user's
``profiles.daily_lookups``, else the configured default.

A missing counter (a new day, or lost with Redis) is rebuilt from PostgreSQL when its user next
looks up a word; the compensation job (`recompute`) rebuilds every counter of the day at once,
overwriting what Redis holds. A rebuild misses lookups in flight while it counts, so it may
undercount by those. While Redis cannot be reached the quota is enforced from PostgreSQL
alone, with one count per lookup: failing open would grant lookups beyond the limit, failing
closed would refuse every user because of a cache outage.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from psycopg import AsyncConnection
from redis.exceptions import RedisError

from reference.cache import RedisEndpoint
from reference.config import QuotaConfig
from reference.database import Database
from reference.dsn import mask

# Reserve one lookup: nil when the counter is missing, else {granted (0/1), count after}.
_RESERVE = """
local used = redis.call('GET', KEYS[1])
if not used then return false end
used = tonumber(used)
if used >= tonumber(ARGV[1]) then return {0, used} end
return {1, redis.call('INCR', KEYS[1])}
"""
# Give a reservation back, unless the counter was lost meanwhile (its rebuild counts rows).
_RELEASE = """
if redis.call('EXISTS', KEYS[1]) == 1 then return redis.call('DECR', KEYS[1]) end
return false
"""
# Yesterday's counters outlive midnight by this much, then expire.
_AFTER_DAY_S = 3600

log = logging.getLogger("reference.quota")


class QuotaExceeded(Exception):
    def __init__(self, user: str, used: int, limit: int, day: str) -> None:
        super().__init__(f"user {user} used {used} of {limit} lookups on {day} (UTC)")


@dataclass(frozen=True)
class Admission:
    key: str
    reserved: bool  # False: admitted on PostgreSQL's count, nothing to give back


@dataclass(frozen=True)
class _Day:
    name: str  # YYYY-MM-DD
    start: datetime
    ttl_s: int  # what a counter of this day has left to live


class Quota:
    def __init__(
        self,
        config: QuotaConfig,
        db: Database,
        redis: RedisEndpoint,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.config, self.db, self.endpoint = config, db, redis
        self._clock = clock
        self._reserve = redis.client.register_script(_RESERVE)
        self._release = redis.client.register_script(_RELEASE)

    def _today(self) -> _Day:
        now = datetime.fromtimestamp(self._clock(), UTC)
        start = now.replace(hour=0, minute=0, second=0, microsecond=0)
        left = start + timedelta(days=1) - now
        return _Day(start.strftime("%Y-%m-%d"), start, int(left.total_seconds()) + _AFTER_DAY_S)

    async def admit(self, user: str) -> Admission:
        """Reserve one of the user's lookups of today; QuotaExceeded at the limit."""
        day = self._today()
        key = _key(day.name, user)
        limit = await self.db.run(lambda conn: _limit(conn, user, self.config.daily_lookups))
        answer = await self._reserve_in_redis(key, limit, user, day)
        if answer is None:  # Redis unreachable, or the counter vanished again
            used = await self.db.run(lambda conn: _used(conn, user, day.start))
            if used >= limit:
                raise QuotaExceeded(user, used, limit, day.name)
            return Admission(key, reserved=False)
        granted, used = answer
        if not granted:
            raise QuotaExceeded(user, used, limit, day.name)
        return Admission(key, reserved=True)

    async def _reserve_in_redis(
        self, key: str, limit: int, user: str, day: _Day
    ) -> list[int] | None:
        """[granted, count] from the counter, rebuilt first if missing; None without Redis."""
        if not self.endpoint.available:
            return None
        try:
            answer = await self._reserve_on(key, limit)
            if answer is None:  # no counter: rebuild it from PostgreSQL, then reserve
                used = await self.db.run(lambda conn: _used(conn, user, day.start))
                await self.endpoint.client.set(key, used, nx=True, ex=day.ttl_s)
                answer = await self._reserve_on(key, limit)
        except RedisError as exc:
            self.endpoint.failed()
            log.warning("quota counted in PostgreSQL: %s", mask(f"{type(exc).__name__}: {exc}"))
            return None
        return answer

    async def _reserve_on(self, key: str, limit: int) -> list[int] | None:
        return await self._reserve(keys=[key], args=[limit], client=self.endpoint.client)

    async def release(self, admission: Admission) -> None:
        """Give back the reservation of a lookup that was not served."""
        if admission.reserved:
            with suppress(RedisError):  # the counter then overcounts until it is rebuilt
                await self._release(keys=[admission.key], client=self.endpoint.client)

    async def recompute(self) -> dict:
        """The compensation job: every counter of today set to the user's rows in PostgreSQL."""
        day = self._today()
        usage = await self.db.run(lambda conn: _usage_by_user(conn, day.start))
        async with self.endpoint.client.pipeline(transaction=False) as pipe:
            for user, used in usage.items():
                pipe.set(_key(day.name, user), used, ex=day.ttl_s)
            await pipe.execute()
        log.warning("quota counters of %s recomputed for %d users", day.name, len(usage))
        return {"day": day.name, "users": len(usage), "lookups": sum(usage.values())}

    async def state(self, user: str) -> dict:
        """The user's limit and today's Redis counter as it is (None when missing)."""
        day = self._today()
        limit = await self.db.run(lambda conn: _limit(conn, user, self.config.daily_lookups))
        counter = await self.endpoint.client.get(_key(day.name, user))
        return {
            "user": user,
            "day": day.name,
            "limit": limit,
            "counter": None if counter is None else int(counter),
        }


async def _limit(conn: AsyncConnection, user: str, default: int) -> int:
    cur = await conn.execute("SELECT daily_lookups FROM profiles WHERE user_id = %s", (user,))
    row = await cur.fetchone()
    return default if row is None or row[0] is None else row[0]


async def _used(conn: AsyncConnection, user: str, since: datetime) -> int:
    cur = await conn.execute(
        "SELECT count(*) FROM lookups WHERE user_id = %s AND looked_up_at >= %s", (user, since)
    )
    (used,) = await cur.fetchone()
    return used


async def _usage_by_user(conn: AsyncConnection, since: datetime) -> dict[str, int]:
    cur = await conn.execute(
        "SELECT user_id, count(*) FROM lookups WHERE looked_up_at >= %s GROUP BY user_id",
        (since,),
    )
    return dict(await cur.fetchall())


def _key(day: str, user: str) -> str:
    return f"glancy:quota:{day}:{user}"
