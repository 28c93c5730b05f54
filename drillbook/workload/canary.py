"""CRR lag measured by canary objects: the age of the oldest object written in the primary
region that has not yet arrived in the DR region (seed section 2 alerts when it exceeds 60 s).

A replication status header says an object is pending, not for how long; a canary carries its
own write time, so its age is the lag, whatever the store reports.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from botocore.client import BaseClient
from botocore.exceptions import BotoCoreError, ClientError

from drillbook.objects import TraceHeader
from drillbook.workload.history import History, Op
from drillbook.workload.paced import PacedWorker

CANARY_PREFIX = "canary/"


def canary_body(key: str) -> bytes:
    """What the canary `key` holds."""
    return f"canary {key}".encode()


@dataclass(frozen=True)
class Canary:
    key: str
    written_at: float


class CrrCanary(PacedWorker):
    """Each tick looks in the DR region for the canaries written at earlier ticks, oldest
    first, then writes canary `canary/<run>/<n>` to `bucket` in the primary region, and records
    an op of process `crr:<bucket>`, f "sample", value: `lag_s` (age of the oldest earlier
    canary not yet replicated; once all arrived, the replication delay of the newest as
    observed; None before any arrived), `pending` (how many earlier canaries have not
    arrived: 0 means replication kept up within one interval), `arrived` (keys seen in the DR
    region this tick) and `written` (the key written this tick, None if the write failed). A
    sample whose lookup or write failed is "fail" with the error, keeping what was measured.
    `timeout_s` is the connect and read timeout the clients were built with (2 s for the S3
    clients of drillbook's stores), which bounds how long a stop waits for a tick in flight.
    `traced`: each write carries a trace id of its own (drillbook.objects.TraceHeader), kept
    with the sample, as a client's write the store's audit log can name.
    """

    def __init__(
        self,
        history: History,
        primary: Callable[[], BaseClient],
        dr: Callable[[], BaseClient],
        bucket: str,
        interval_s: float = 1.0,
        run: str = "",
        timeout_s: float = 2.0,
        traced: bool = False,
    ) -> None:
        # a lookup in the DR region that waits, then the write: each a connect and an answer
        super().__init__(f"crr:{bucket}", interval_s, tick_timeout_s=4 * timeout_s)
        self.history = history
        self.bucket = bucket
        self.prefix = f"{CANARY_PREFIX}{run or int(time.time())}/"
        self._primary, self._dr = primary(), dr()
        self._trace = TraceHeader(self._primary) if traced else None
        self._pending: deque[Canary] = deque()
        self._written = 0
        self._last_delay_s: float | None = None

    def _tick(self) -> None:
        started = time.time()
        value: dict = {"arrived": [], "written": None}
        error = None
        try:
            value["arrived"] = self._collect_arrivals()
        except (BotoCoreError, ClientError) as exc:
            error = f"{type(exc).__name__}: {exc}"
        # measured before this tick's canary exists: it has had no time to replicate yet
        value |= {"lag_s": self._lag(time.time()), "pending": len(self._pending)}
        try:
            value["written"] = self._write()
        except (BotoCoreError, ClientError) as exc:
            error = error or f"{type(exc).__name__}: {exc}"
        now = time.time()
        outcome = "ok" if error is None else "fail"
        trace = self._trace.last if self._trace else None
        self.history.record(
            Op(self.name, "sample", started, now, outcome, value=value, error=error, trace_id=trace)
        )

    def _write(self) -> str:
        self._written += 1
        key = f"{self.prefix}{self._written:06d}"
        if self._trace:
            self._trace.last = None
        self._primary.put_object(Bucket=self.bucket, Key=key, Body=canary_body(key))
        self._pending.append(Canary(key, time.time()))
        return key

    def _collect_arrivals(self) -> list[str]:
        """Oldest first, until one has not arrived: the oldest missing one is what ages."""
        arrived = []
        while self._pending and self._exists_in_dr(self._pending[0].key):
            canary = self._pending.popleft()
            self._last_delay_s = time.time() - canary.written_at
            arrived.append(canary.key)
        return arrived

    def _exists_in_dr(self, key: str) -> bool:
        try:
            self._dr.head_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return False
            raise
        return True

    def _lag(self, now: float) -> float | None:
        if self._pending:
            return now - self._pending[0].written_at
        return self._last_delay_s

    def _close(self) -> None:
        for client in (self._primary, self._dr):
            client.close()
