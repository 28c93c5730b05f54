"""One way to open a PostgreSQL connection from the harness: bounded connect and statements."""

from __future__ import annotations

import math

import psycopg


def connect_timeout_s(timeout_s: float) -> int:
    """libpq's connect_timeout for a client timeout: whole seconds, at least 2."""
    return max(2, math.ceil(timeout_s))


def longest_statement_s(timeout_s: float) -> float:
    """The longest one statement on a new connection can wait: to connect, then to run."""
    return connect_timeout_s(timeout_s) + timeout_s


def connect(
    dsn: str, timeout_s: float, *, autocommit: bool = False, application_name: str = "drillbook"
) -> psycopg.Connection:
    """A connection whose connect and every statement give up after `timeout_s`; libpq's
    connect_timeout is whole seconds, at least 2."""
    return psycopg.connect(
        dsn,
        autocommit=autocommit,
        connect_timeout=connect_timeout_s(timeout_s),
        options=f"-c statement_timeout={int(timeout_s * 1000)}",
        application_name=application_name,
    )
