"""A user downloading an artifact from object storage at a steady pace: what the plan's
download-failure signal (section 2, 下载失败率 ≥2%) counts, seen from the client."""

from __future__ import annotations

from collections.abc import Callable

from botocore.client import BaseClient

from drillbook.objects import TraceHeader, current
from drillbook.workload.history import History, Op
from drillbook.workload.paced import PacedWorker
from drillbook.workload.probes import timed


def download_process(bucket: str, key: str) -> str:
    return f"download:{bucket}/{key}"


class ArtifactDownloads(PacedWorker):
    """Each tick downloads `key` from `bucket` and records an op of process
    `download:<bucket>/<key>`, f "GET", with the trace id its request carried (the store's
    audit log keeps it): "ok" with the version served and the SHA-256 of its bytes, else
    "fail" with the error (a deleted key answers NoSuchKey; a store that does not
    answer within the client's timeouts fails too: a download that never arrived failed for
    its user, whether or not the store saw it). `timeout_s` is the connect and read timeout
    the client was built with, which bounds how long a stop waits for a tick in flight."""

    def __init__(
        self,
        history: History,
        client: Callable[[], BaseClient],
        bucket: str,
        key: str,
        interval_s: float,
        timeout_s: float = 2.0,
    ) -> None:
        super().__init__(download_process(bucket, key), interval_s, tick_timeout_s=2 * timeout_s)
        self.history = history
        self.bucket, self.key = bucket, key
        self._client = client()
        self._trace = TraceHeader(self._client)

    def _tick(self) -> None:
        self._trace.last = None
        started, ended, served = timed(lambda: current(self._client, self.bucket, self.key))
        trace = self._trace.last
        if served.error:
            op = Op(self.name, "GET", started, ended, "fail", error=served.error, trace_id=trace)
        else:
            value = {"version_id": served.version_id, "sha256": served.sha256}
            op = Op(self.name, "GET", started, ended, "ok", value, trace_id=trace)
        self.history.record(op)

    def _close(self) -> None:
        self._client.close()
