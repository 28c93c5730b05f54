"""The object stores' audit log as metrics (`python -m drillbook.stack.s3_audit`): the trace
ids the plan wants on the object-storage alerts (section 2: 监控告警必须携带 trace_id).

A store's request counts say how many downloads failed, not which; its audit log says which,
and keeps the headers each request came with, a W3C `traceparent` included. Each store posts
its audit log here (MinIO's audit webhook, to `/audit/<store>`), and this process keeps, of
the requests that carried a trace:
- per bucket, the newest write (`s3_last_traced_write_timestamp_seconds{bucket, trace_id}`),
  the write a replication lag holds back first;
- per store, the newest download that failed (`s3_last_traced_failed_download_timestamp_seconds
  {store, trace_id}`), the request a download-failure page sends a responder to.
Nothing else of an entry is kept: its authorization header least of all.
"""

from __future__ import annotations

import argparse
import json
import re
import threading
import time
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from drillbook.stack.http_answer import METRICS, answer

TRACEPARENT = re.compile(r"^[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}$")
WRITES = ("PutObject", "CompleteMultipartUpload", "CopyObject")
DOWNLOAD = "GetObject"
# An audit entry is a few kilobytes; anything much larger is not one.
MAX_ENTRY_BYTES = 1 << 20


class AuditTraces:
    """The newest traced write per bucket and failed download per store, thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.writes: dict[str, tuple[float, str]] = {}
        self.failed_downloads: dict[str, tuple[float, str]] = {}

    def record(self, store: str, entry: dict, at: float) -> None:
        """One audit entry of `store`, received at `at`; one without a trace says nothing."""
        api = entry.get("api") or {}
        headers = {
            name.lower(): value for name, value in (entry.get("requestHeader") or {}).items()
        }
        match = TRACEPARENT.match(str(headers.get("traceparent", "")))
        if not match:
            return
        trace, status = match.group(1), int(api.get("statusCode") or 0)
        with self._lock:
            if api.get("name") in WRITES and 200 <= status < 300 and api.get("bucket"):
                self.writes[api["bucket"]] = (at, trace)
            elif api.get("name") == DOWNLOAD and status >= 400:
                self.failed_downloads[store] = (at, trace)

    def exposition(self) -> str:
        with self._lock:
            writes, failed = dict(self.writes), dict(self.failed_downloads)
        lines = [
            "# HELP s3_last_traced_write_timestamp_seconds The bucket's newest write that "
            "carried a trace id, labelled with it.",
            "# TYPE s3_last_traced_write_timestamp_seconds gauge",
            *(
                f's3_last_traced_write_timestamp_seconds{{bucket="{bucket}",trace_id="{trace}"}} '
                f"{at:.3f}"
                for bucket, (at, trace) in sorted(writes.items())
            ),
            "# HELP s3_last_traced_failed_download_timestamp_seconds The store's newest failed "
            "download that carried a trace id, labelled with it.",
            "# TYPE s3_last_traced_failed_download_timestamp_seconds gauge",
            *(
                f"s3_last_traced_failed_download_timestamp_seconds"
                f'{{store="{store}",trace_id="{trace}"}} {at:.3f}'
                for store, (at, trace) in sorted(failed.items())
            ),
        ]
        return "\n".join(lines) + "\n"


def handler(traces: AuditTraces) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
            store = self.path.removeprefix("/audit/")
            length = int(self.headers.get("Content-Length") or 0)
            if store == self.path or not store or length > MAX_ENTRY_BYTES:
                self._say(HTTPStatus.NOT_FOUND, "post audit entries to /audit/<store>")
                return
            try:
                entry = json.loads(self.rfile.read(length))
            except ValueError:
                self._say(HTTPStatus.BAD_REQUEST, "an audit entry is a JSON object")
                return
            for one in entry if isinstance(entry, list) else [entry]:
                if isinstance(one, dict):
                    traces.record(store, one, time.time())
            self._say(HTTPStatus.OK, "")

        def do_GET(self) -> None:  # noqa: N802
            if self.path == "/metrics":
                answer(self, HTTPStatus.OK, traces.exposition().encode(), METRICS)
            else:
                self._say(HTTPStatus.NOT_FOUND, "not found")

        def _say(self, status: HTTPStatus, text: str) -> None:
            answer(self, status, f"{text}\n".encode() if text else b"", "text/plain")

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            """Quiet: every request to a store posts an entry."""

    return Handler


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    ThreadingHTTPServer(("127.0.0.1", args.port), handler(AuditTraces())).serve_forever()


if __name__ == "__main__":
    main()
