"""The service's PostgreSQL pool: bounded waits, swap to another server at runtime.

Every request runs inside one deadline (pool wait + statement timeout). A request whose
server stops answering (a blackholed network, not a refused one) is abandoned at that
deadline: psycopg may need seconds to unwind a cancelled query, so it unwinds in the
background while the client already has its 503.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

import psycopg
from psycopg import errors
from psycopg_pool import AsyncConnectionPool

from reference.config import DatabaseConfig
from reference.dsn import describe, mask

T = TypeVar("T")
Work = Callable[[psycopg.AsyncConnection], Awaitable[T]]

# psycopg_pool backs off reconnection attempts exponentially until reconnect_timeout;
# a short window lets the next request start a fresh attempt, so a server that comes
# back is used within ~2 s instead of after a backoff that grows with the outage.
_RECONNECT_WINDOW_S = 3.0
# libpq and psycopg raise any connect_timeout below 2 s to 2 s
_MIN_CONNECT_TIMEOUT_S = 2

log = logging.getLogger("reference.database")


class DatabaseUnavailable(Exception):
    """The database could not serve the request in time; the message holds no password."""


class Database:
    def __init__(self, config: DatabaseConfig) -> None:
        self.config = config
        self._dsn = config.dsn
        self._pool = self._new_pool(config.dsn)
        self._switch_lock = asyncio.Lock()
        self._abandoned: set[asyncio.Task] = set()

    @property
    def deadline_s(self) -> float:
        return self.config.pool_timeout_s + self.config.statement_timeout_ms / 1000

    @property
    def switch_timeout_s(self) -> float:
        """How long a switch waits for the new server: one full connect attempt and a pool wait."""
        connect_s = max(self.config.connect_timeout_s, _MIN_CONNECT_TIMEOUT_S)
        return connect_s + self.config.pool_timeout_s

    def describe(self) -> str:
        return describe(self._dsn)

    async def open(self) -> None:
        """Start connecting in the background: the service serves 503s until the server is up."""
        await self._pool.open(wait=False)

    async def close(self) -> None:
        await self._pool.close(timeout=1.0)
        for task in list(self._abandoned):
            task.cancel()

    async def run(self, work: Work[T]) -> T:
        """Run work in one transaction on a pooled connection, within the request deadline."""
        pool, where = self._pool, self.describe()

        async def in_transaction() -> T:
            async with pool.connection(timeout=self.config.pool_timeout_s) as conn:
                return await work(conn)

        task = asyncio.ensure_future(in_transaction())
        done, _ = await asyncio.wait({task}, timeout=self.deadline_s)
        if not done:
            self._abandon(task)
            raise DatabaseUnavailable(f"{where}: no answer within {self.deadline_s:.1f} s")
        try:
            return task.result()
        except (psycopg.OperationalError, errors.ReadOnlySqlTransaction) as exc:
            raise DatabaseUnavailable(f"{where}: {mask(str(exc)).strip()}") from None

    async def switch(self, dsn: str) -> str:
        """Connect a new pool to dsn, swap it in, close the old one; keep the old one on failure.

        Raises ValueError for an unparsable DSN, DatabaseUnavailable if unreachable in time.
        """
        where = describe(dsn)
        async with self._switch_lock:
            pool = self._new_pool(dsn)
            try:
                await pool.open(wait=True, timeout=self.switch_timeout_s)
            except psycopg.Error as exc:
                await pool.close(timeout=1.0)
                raise DatabaseUnavailable(
                    f"new database {where} not reachable within {self.switch_timeout_s:.1f} s "
                    f"({mask(str(exc)).strip()}); still using {self.describe()}"
                ) from None
            old, self._pool, self._dsn = self._pool, pool, dsn
        # in-flight requests on the old pool fail with PoolClosed and answer 503
        await old.close(timeout=1.0)
        log.warning("database switched to %s", where)
        return where

    def _new_pool(self, dsn: str) -> AsyncConnectionPool:
        cfg = self.config
        return AsyncConnectionPool(
            dsn,
            min_size=cfg.pool_min,
            max_size=cfg.pool_max,
            timeout=cfg.pool_timeout_s,
            reconnect_timeout=_RECONNECT_WINDOW_S,
            # a connection broken by a server crash is detected here, never handed out
            check=AsyncConnectionPool.check_connection,
            kwargs={
                "connect_timeout": cfg.connect_timeout_s,
                "options": f"-c statement_timeout={cfg.statement_timeout_ms}",
                "application_name": "glancy-reference",
            },
            name=describe(dsn),
            open=False,
        )

    def _abandon(self, task: asyncio.Task) -> None:
        task.cancel()
        self._abandoned.add(task)
        task.add_done_callback(self._forget)

    def _forget(self, task: asyncio.Task) -> None:
        self._abandoned.discard(task)
        # retrieve the outcome so asyncio does not report it as never retrieved
        if not task.cancelled():
            task.exception()
