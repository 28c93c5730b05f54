"""Probes: what a client of the service or of one dependency sees, one request per slot."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

import httpx
import psycopg
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from drillbook.pgconnect import connect, longest_statement_s
from drillbook.workload.history import History, Op, short_error
from drillbook.workload.paced import PacedWorker
from drillbook.workload.writer import _Deadline

T = TypeVar("T")


def timed(call: Callable[[], T]) -> tuple[float, float, T]:
    """Runs `call`; returns its wall-clock start, end (start + monotonic elapsed) and result."""
    started, clock = time.time(), time.monotonic()
    result = call()
    return started, started + (time.monotonic() - clock), result


def answer_flags(response: httpx.Response) -> dict | None:
    """What a probe keeps of an answer: whether it was the degraded payload, and why, whether
    it carried a definition, an example and a generated (`ai_example`) one, where the result
    came from (`source`: the replica's L1, the Redis cache, the database) and the region that
    answered when the service says (its X-Region header)."""
    try:
        body = response.json()
    except ValueError:
        return None
    if not isinstance(body, dict) or "degraded" not in body:
        return None
    flags = {
        "degraded": body["degraded"],
        "reason": body.get("degraded_reason"),
        "definition": bool(body.get("definition")),
        "example": bool(body.get("example")),
        "ai_example": bool(body.get("ai_example")),
    }
    if source := body.get("source"):
        flags["source"] = source
    if region := response.headers.get("X-Region"):
        flags["region"] = region
    return flags


def answer_flag(op: Op, name: str) -> Any:
    """One flag `answer_flags` kept of the answer `op` got (None when it kept none)."""
    return op.value.get(name) if isinstance(op.value, dict) else None


class HttpProbe(PacedWorker):
    """Requests `base_url + path` (GET by default) every `interval_s` and records each answer.

    2xx is "ok"; another status or a connection error is "fail"; a timeout once the request
    may have reached the service is "info". `params` are the query parameters, or a function
    giving those of each request (a workload that varies its words). Another `method` sends
    the JSON that `body()` gives for each request. `record`, if given, picks what to keep of a
    successful response as the operation's value (e.g. whether the answer was degraded, or the
    id of what a POST created).
    """

    def __init__(
        self,
        history: History,
        base_url: str,
        path: str,
        interval_s: float = 0.1,
        timeout_s: float = 1.0,
        params: Mapping[str, str] | Callable[[], Mapping[str, str]] | None = None,
        record: Callable[[httpx.Response], object] | None = None,
        method: str = "GET",
        body: Callable[[], object] | None = None,
    ) -> None:
        # httpx bounds the connect and the answer each by timeout_s
        super().__init__(f"probe:{path}", interval_s, tick_timeout_s=2 * timeout_s)
        self.history = history
        self.path = path
        self.params = params if callable(params) else dict(params or {})
        self.record = record
        self.method = method
        self.body = body
        self.f = f"{method} {path}"
        self._client = httpx.Client(base_url=base_url, timeout=httpx.Timeout(timeout_s))

    def _tick(self) -> None:
        """Each request carries a W3C trace of its own, which the service adopts and its
        alerts name; the operation keeps it whatever the outcome, even one given up on."""
        trace = uuid.uuid4().hex
        started, ended, (outcome, status, error, value) = timed(lambda: self._get(trace))
        self.history.record(
            Op(self.name, self.f, started, ended, outcome, value, status, error, trace_id=trace)
        )

    def _get(self, trace: str) -> tuple[str, int | None, str | None, object]:
        headers = {"traceparent": f"00-{trace}-{uuid.uuid4().hex[:16]}-01"}
        try:
            params = self.params() if callable(self.params) else self.params
            json = self.body() if self.body else None
            response = self._client.request(
                self.method, self.path, params=params, json=json, headers=headers
            )
        except (httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            return "fail", None, short_error(exc), None  # the request never left the client
        except httpx.TimeoutException as exc:
            return "info", None, short_error(exc), None
        except httpx.HTTPError as exc:
            return "fail", None, short_error(exc), None
        if response.is_success:
            value = self.record(response) if self.record else None
            return "ok", response.status_code, None, value
        error = f"HTTP {response.status_code}: {response.text[:120]}"
        return "fail", response.status_code, error, None

    def _close(self) -> None:
        self._client.close()


class PgClient:
    """One autocommit PostgreSQL connection kept across operations, reopened after a failure.

    `run()` never raises: a failed connect is "fail", a statement cut by statement_timeout or
    by the client-side deadline (a silent network, which statement_timeout cannot detect) is
    "info", any other error "fail". `dsn()` is asked again for every new connection.
    Autocommit also keeps `now()` current: in an open transaction it would stay frozen.
    """

    def __init__(self, dsn: Callable[[], str], timeout_s: float, application_name: str) -> None:
        self.dsn = dsn
        self.timeout_s = timeout_s
        self.application_name = application_name
        self._conn: psycopg.Connection | None = None

    @property
    def longest_s(self) -> float:
        """The longest one `run()` can wait: a connect, then the statement's deadline."""
        return longest_statement_s(self.timeout_s)

    def run(
        self, statement: str, params: Sequence[Any] | None = None
    ) -> tuple[str, list[tuple], str | None]:
        """(outcome, rows, error) of one statement."""
        if self._conn is None:
            try:
                self._conn = self._connect()
            except Exception as exc:  # dsn() is the caller's code: any failure means no query
                return "fail", [], short_error(exc)
        deadline = _Deadline(self._conn, self.timeout_s)
        try:
            with deadline:
                rows = self._conn.execute(statement, params).fetchall()
        except (psycopg.Error, OSError) as exc:
            self.close()
            timed_out = deadline.fired or isinstance(exc, psycopg.errors.QueryCanceled)
            return ("info" if timed_out else "fail"), [], deadline.describe(exc)
        if deadline.fired:  # it cut the socket just as the answer arrived
            self.close()
        return "ok", rows, None

    def _connect(self) -> psycopg.Connection:
        return connect(
            self.dsn(), self.timeout_s, autocommit=True, application_name=self.application_name
        )

    def close(self) -> None:
        if self._conn is not None:
            conn, self._conn = self._conn, None
            conn.close()


class SqlProbe(PacedWorker):
    """Runs `query` on one kept connection every `interval_s`; see PgClient for outcomes."""

    def __init__(
        self,
        history: History,
        dsn: Callable[[], str],
        name: str,
        interval_s: float = 0.1,
        timeout_s: float = 1.0,
        query: str = "SELECT 1",
    ) -> None:
        self._pg = PgClient(dsn, timeout_s, f"drillbook-probe-{name}")
        super().__init__(f"sql:{name}", interval_s, tick_timeout_s=self._pg.longest_s)
        self.history = history
        self.query = query

    def _tick(self) -> None:
        started, ended, (outcome, _, error) = timed(lambda: self._pg.run(self.query))
        self.history.record(Op(self.name, self.query, started, ended, outcome, error=error))

    def _close(self) -> None:
        self._pg.close()


def redis_client(url: str, timeout_s: float) -> redis.Redis:
    """A client whose every command is one attempt bounded by `timeout_s`."""
    return redis.Redis.from_url(
        url,
        socket_timeout=timeout_s,
        socket_connect_timeout=timeout_s,
        retry=Retry(NoBackoff(), 0),
    )


class RedisClientOf:
    """A client of the Redis that `url()` names now, replaced when the name changes (the
    service was pointed at another node); redis-py reconnects it after a failure."""

    def __init__(self, url: Callable[[], str], timeout_s: float) -> None:
        self.url = url
        self.timeout_s = timeout_s
        self._url: str | None = None
        self._client: redis.Redis | None = None

    @property
    def longest_s(self) -> float:
        """The longest one command can wait: a connect, then the answer."""
        return 2 * self.timeout_s

    def get(self) -> redis.Redis:
        url = self.url()
        if self._client is None or url != self._url:
            self.close()
            self._client, self._url = redis_client(url, self.timeout_s), url
        return self._client

    def close(self) -> None:
        if self._client is not None:
            client, self._client = self._client, None
            client.close()


def outcome_of(exc: Exception) -> str:
    """A command that certainly did not run is "fail": no connection could be made, or the
    server refused it (loading, read-only, ...). One whose connection broke or timed out once
    it may have been sent is "info"."""
    if isinstance(exc, redis.ResponseError | redis.BusyLoadingError):
        return "fail"
    if isinstance(exc, redis.ConnectionError | redis.TimeoutError) and "connecting" not in str(exc):
        return "info"
    return "fail"


class RedisProbe(PacedWorker):
    """PINGs Redis every `interval_s`.

    A refused or dropped connection is "fail"; a socket timeout is "info" (redis-py does not
    say whether the PING had been sent). Retries are off so each operation is one attempt.
    """

    def __init__(
        self,
        history: History,
        url: Callable[[], str],
        name: str,
        interval_s: float = 0.1,
        timeout_s: float = 0.5,
    ) -> None:
        self._clients = RedisClientOf(url, timeout_s)
        super().__init__(f"redis:{name}", interval_s, tick_timeout_s=self._clients.longest_s)
        self.history = history

    def _tick(self) -> None:
        started, ended, (outcome, error) = timed(self._ping)
        self.history.record(Op(self.name, "PING", started, ended, outcome, error=error))

    def _ping(self) -> tuple[str, str | None]:
        try:
            self._clients.get().ping()
        except redis.TimeoutError as exc:
            return "info", short_error(exc)
        except redis.RedisError as exc:
            return "fail", short_error(exc)
        return "ok", None

    def _close(self) -> None:
        self._clients.close()
