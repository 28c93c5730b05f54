"""A PostgreSQL writer whose acknowledged rows are later checked for loss (RPO)."""

from __future__ import annotations

import itertools
import os
import socket
import threading
import time
from collections.abc import Callable

import psycopg
from psycopg import sql

from drillbook.pgconnect import connect, longest_statement_s
from drillbook.workload.history import History, Op, short_error
from drillbook.workload.paced import PacedWorker


class Writer(PacedWorker):
    """Commits rows with ids 1, 2, 3... into `table`, one transaction per slot.

    A write that fails before COMMIT is sent is "fail" (nothing can have been written); a
    failure during or after COMMIT is "info", since the row may or may not be there.
    `dsn()` is asked before every write: when it changes (a failover moved the clients, even
    away from a primary that still runs) the writer reconnects to the new one.
    """

    def __init__(
        self,
        history: History,
        dsn: Callable[[], str],
        interval_s: float = 0.05,
        timeout_s: float = 1.0,
        table: str = "drill_writes",
    ) -> None:
        # a connect, then the transaction's deadline
        super().__init__("writer", interval_s, tick_timeout_s=longest_statement_s(timeout_s))
        self.history = history
        self.dsn = dsn
        self.timeout_s = timeout_s
        self.table = table
        self._insert = sql.SQL("INSERT INTO {} (id, payload) VALUES (%s, %s)").format(
            _table_identifier(table)
        )
        self._ids = itertools.count(1)
        self._conn: psycopg.Connection | None = None
        self._conn_dsn = ""  # the DSN the connection is (to be) made to

    def _tick(self) -> None:
        write_id = next(self._ids)
        started, clock = time.time(), time.monotonic()
        outcome, error = self._write(write_id)
        ended = started + (time.monotonic() - clock)
        self.history.record(
            Op(self.name, "write", started, ended, outcome, value=write_id, error=error)
        )

    def _write(self, write_id: int) -> tuple[str, str | None]:
        try:
            dsn = self.dsn()
        except Exception as exc:  # dsn() is the caller's code: any failure means no write
            return "fail", short_error(exc)
        if dsn != self._conn_dsn:  # moved (a failover away from a primary that still runs)
            self._discard()
            self._conn_dsn = dsn
        if self._conn is None:
            try:
                self._conn = self._connect()
            except Exception as exc:  # a refused or unreachable server: no write
                return "fail", short_error(exc)
        outcome_if_broken = "fail"
        deadline = _Deadline(self._conn, self.timeout_s)
        try:
            with deadline:
                self._conn.execute(self._insert, (write_id, payload_of(write_id)))
                outcome_if_broken = "info"
                self._conn.commit()
        except (psycopg.Error, OSError) as exc:
            self._discard()
            return outcome_if_broken, deadline.describe(exc)
        if deadline.fired:  # it cut the socket just as the commit was acknowledged
            self._discard()
        return "ok", None

    def _connect(self) -> psycopg.Connection:
        return connect(self._conn_dsn, self.timeout_s, application_name="drillbook-writer")

    def _discard(self) -> None:
        if self._conn is not None:
            conn, self._conn = self._conn, None
            conn.close()

    def _close(self) -> None:
        self._discard()


class _Deadline:
    """Shuts the connection's socket down when an operation overruns `timeout_s`.

    libpq has no client-side read timeout: a server or network that stops answering (a
    blackholed proxy) would block the writer forever, and statement_timeout cannot help then.
    """

    def __init__(self, conn: psycopg.Connection, timeout_s: float) -> None:
        self.timeout_s = timeout_s
        self.fired = False
        self._fd = conn.fileno()
        self._done = False
        self._lock = threading.Lock()
        self._timer = threading.Timer(timeout_s, self._cut)
        self._timer.daemon = True

    def __enter__(self) -> _Deadline:
        self._timer.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        with self._lock:
            self._done = True
        self._timer.cancel()

    def describe(self, exc: BaseException) -> str:
        if self.fired:
            return f"no answer within {self.timeout_s} s ({short_error(exc)})"
        return short_error(exc)

    def _cut(self) -> None:
        with self._lock:
            if self._done:
                return
            self.fired = True
            try:
                with socket.socket(fileno=os.dup(self._fd)) as sock:
                    sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass  # already disconnected: the blocked call returns by itself


def surviving_ids(dsn: str, table: str = "drill_writes", *, timeout_s: float = 10.0) -> set[int]:
    """The ids present in `table` now, read in one query."""
    query = sql.SQL("SELECT id FROM {}").format(_table_identifier(table))
    with connect(dsn, timeout_s) as conn:
        return {row[0] for row in conn.execute(query)}


def payload_of(write_id: int) -> str:
    """The payload the writer commits with row `write_id`."""
    return f"drill write {write_id}"


def payloads(
    dsn: str, ids: list[int], table: str = "drill_writes", *, timeout_s: float = 10.0
) -> dict[int, str]:
    """The payloads of those of `ids` present in `table` now, read in one query."""
    query = sql.SQL("SELECT id, payload FROM {} WHERE id = ANY(%s)").format(
        _table_identifier(table)
    )
    with connect(dsn, timeout_s) as conn:
        return dict(conn.execute(query, (ids,)).fetchall())


def _table_identifier(table: str) -> sql.Identifier:
    return sql.Identifier(*table.split("."))
