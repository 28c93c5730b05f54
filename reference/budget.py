"""The monthly LLM token budget: 80 % warns, 95 % disables regenerate (the July drill).

PostgreSQL's ``llm_usage`` rows are authoritative; the Redis counter
``glancy:llm:tokens:<YYYY-MM>`` is the fast path and is rebuilt from them whenever it is
missing. Months are UTC.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from contextlib import suppress
from dataclasses import asdict, dataclass

from psycopg import AsyncConnection
from redis.asyncio import Redis
from redis.exceptions import RedisError

from reference.cache import RedisEndpoint
from reference.config import BudgetConfig
from reference.database import Database, DatabaseUnavailable
from reference.dsn import mask

OK, WARNING, DISABLED = "ok", "warning", "disabled"
_RANK = {OK: 0, WARNING: 1, DISABLED: 2}
# A rebuild racing a recording can miss its increment; expiring the counter bounds that
# drift: the next read rebuilds it from PostgreSQL.
_COUNTER_TTL_S = 60
# Only bump a counter that exists: creating it would make one delta look like the month.
# With the count comes the month's refund epoch (see Budget.refund).
_INCR_IF_EXISTS = """
if redis.call('EXISTS', KEYS[1]) == 1 then
  return {redis.call('INCRBY', KEYS[1], ARGV[1]), redis.call('GET', KEYS[2]) or '0'}
end
return false
"""

log = logging.getLogger("reference.budget")


@dataclass(frozen=True)
class Usage:
    month: str
    tokens: int
    kind: str  # lookup | regenerate | admin


@dataclass(frozen=True)
class BudgetStatus:
    month: str
    used_tokens: int
    monthly_tokens: int
    used_pct: float
    state: str
    warn_pct: float
    disable_pct: float

    def as_dict(self) -> dict:
        return asdict(self)


class Budget:
    def __init__(
        self,
        config: BudgetConfig,
        db: Database,
        redis: RedisEndpoint,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.config, self.db, self.endpoint = config, db, redis
        self._clock = clock
        self._incr_if_exists = redis.client.register_script(_INCR_IF_EXISTS)
        self._known: BudgetStatus | None = None
        self._known_epoch = 0

    @property
    def redis(self) -> Redis:
        """The current client: the service can be pointed at another Redis at runtime."""
        return self.endpoint.client

    @property
    def known_state(self) -> str | None:
        """The state last seen, without any I/O: what response headers report."""
        return self._known.state if self._known else None

    def month(self) -> str:
        return time.strftime("%Y-%m", time.gmtime(self._clock()))

    def usage(self, tokens: int, kind: str) -> Usage:
        return Usage(self.month(), tokens, kind)

    @staticmethod
    async def insert(conn: AsyncConnection, usage: Usage) -> None:
        """Record usage in the caller's transaction; call counted() after it commits."""
        await conn.execute(
            "INSERT INTO llm_usage (month, tokens, kind) VALUES (%s, %s, %s)",
            (usage.month, usage.tokens, usage.kind),
        )

    async def counted(self, usage: Usage) -> BudgetStatus | None:
        """Add committed usage to the Redis counter; the budget after it, None if unknown.

        The usage is already committed, so a counter that cannot be updated is not an error:
        it undercounts until it expires (at most _COUNTER_TTL_S) and is rebuilt from PostgreSQL.
        """
        try:
            counted = await self._incr_if_exists(
                keys=[_key(usage.month), _epoch_key(usage.month)],
                args=[usage.tokens],
                client=self.redis,
            )
        except RedisError as exc:
            log.warning("llm usage counter not updated: %s", mask(f"{type(exc).__name__}: {exc}"))
            return None
        if counted is not None:
            used, epoch = counted
            return self._observe(usage.month, int(used), int(epoch))
        try:
            return await self.status()  # the counter expired: rebuild it now
        except DatabaseUnavailable:
            return None

    async def spend(self, tokens: int, kind: str) -> BudgetStatus:
        """Record usage in its own transaction; the budget after it."""
        usage = self.usage(tokens, kind)
        await self.db.run(lambda conn: self.insert(conn, usage))
        return await self.counted(usage) or await self.status()

    async def refund(self, kind: str) -> BudgetStatus:
        """Delete this month's usage of `kind` and recount from PostgreSQL: the one case where
        usage shrinks, so the month's refund epoch moves on with the counter's removal, and
        every replica drops the status it remembers at its next read of either."""
        month = self.month()
        await self.db.run(
            lambda conn: conn.execute(
                "DELETE FROM llm_usage WHERE month = %s AND kind = %s", (month, kind)
            )
        )
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.delete(_key(month))
            pipe.incr(_epoch_key(month))
            await pipe.execute()
        self._known = None
        return await self.status()

    async def status(self) -> BudgetStatus:
        """This month's budget from the Redis counter, rebuilt from PostgreSQL if missing."""
        month = self.month()
        key = _key(month)
        try:
            raw, epoch = await self.redis.mget(key, _epoch_key(month))
        except RedisError:
            # PostgreSQL answers alone, the counter is rebuilt once Redis is back
            raw, epoch = None, self._known_epoch
        if raw is not None:
            return self._observe(month, int(raw), int(epoch or 0))
        used = await self.db.run(lambda conn: _month_total(conn, month))
        with suppress(RedisError):
            await self.redis.set(key, used, nx=True, ex=_COUNTER_TTL_S)
        return self._observe(month, used, int(epoch or 0))

    def _observe(self, month: str, used: int, epoch: int) -> BudgetStatus:
        """Build the status and log each threshold crossed since the last one seen."""
        known = self._known and self._known.month == month and self._known_epoch == epoch
        previous = self._known if known else None
        # usage only grows between refunds: a read that started before a recording is stale
        used = max(used, previous.used_tokens) if previous else used
        cfg = self.config
        pct = 100 * used / cfg.monthly_tokens
        state = DISABLED if pct >= cfg.disable_pct else WARNING if pct >= cfg.warn_pct else OK
        status = BudgetStatus(
            month, used, cfg.monthly_tokens, round(pct, 2), state, cfg.warn_pct, cfg.disable_pct
        )
        before = _RANK[previous.state] if previous else _RANK[OK]
        if before < _RANK[WARNING] <= _RANK[state]:
            log.warning("llm budget warning: %d%% of monthly tokens", pct)
        if before < _RANK[DISABLED] <= _RANK[state]:
            log.warning(
                "llm budget at %d%% of monthly tokens: regenerate disabled (at %g%%)",
                pct,
                cfg.disable_pct,
            )
        self._known, self._known_epoch = status, epoch
        return status


async def _month_total(conn: AsyncConnection, month: str) -> int:
    cur = await conn.execute(
        "SELECT coalesce(sum(tokens), 0) FROM llm_usage WHERE month = %s", (month,)
    )
    (total,) = await cur.fetchone()
    return int(total)


def _key(month: str) -> str:
    return f"glancy:llm:tokens:{month}"


def _epoch_key(month: str) -> str:
    return f"glancy:llm:refunds:{month}"
