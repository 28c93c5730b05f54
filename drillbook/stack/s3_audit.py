"""The object stores' audit log as metrics (`python -m drillbook.stack.s3_audit`): the trace
ids the plan wants on the object-storage alerts (section 2: 监控告警必须携带 trace_id).

A store's request counts say how many downloads failed, not which; its audit log says which,
and keeps the headers each request came with, a W3C `traceparent` included. Each store posts
its audit log here (MinIO's audit webhook, to `/audit/<store>`), and this process keeps, of
the requests that carried a trace:
- per bucket, the newest write (`s3_last_traced_write_timestamp_seconds{bucket, trace_id}`),
  a write a replication lag holds back too (the newest, so one of this drill's);
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
# A store or bucket name as S3 allows it: anything else is no label value of ours.
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$")
# A store that stops mid-post does not hold a thread for ever.
READ_TIMEOUT_S = 5.0


class AuditTraces:
    """The newest traced write per bucket and failed download per store, thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.writes: dict[str, tuple[float, str]] = {}
        self.failed_downloads: dict[str, tuple[float, str]] = {}

    def record(self, store: str, entry: dict, at: float) -> None:
        """One audit entry of `store`, received at `at`; one without a trace, or not shaped
        as an audit entry, says nothing."""
        api, headers = entry.get("api"), entry.get("requestHeader")
        if not isinstance(api, dict) or not isinstance(headers, dict):
            return
        sent = {str(name).lower(): value for name, value in headers.items()}
        match = TRACEPARENT.match(str(sent.get("traceparent", "")))
        status, bucket = api.get("statusCode"), str(api.get("bucket", ""))
        if not match or not isinstance(status, int):
            return
        with self._lock:
            if api.get("name") in WRITES and 200 <= status < 300 and NAME.match(bucket):
                self.writes[bucket] = (at, match.group(1))
            elif api.get("name") == DOWNLOAD and status >= 400:
                self.failed_downloads[store] = (at, match.group(1))

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
        timeout = READ_TIMEOUT_S

        def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
            store = self.path.removeprefix("/audit/")
            length = self.headers.get("Content-Length", "")
            if store == self.path or not NAME.match(store):
                self._say(HTTPStatus.NOT_FOUND, "post audit entries to /audit/<store>")
                return
            if not length.isdigit():
                self._say(HTTPStatus.BAD_REQUEST, "an audit entry needs its Content-Length")
                return
            if int(length) > MAX_ENTRY_BYTES:
                self._say(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "no audit entry is that large")
                return
            try:
                entry = json.loads(self.rfile.read(int(length)))
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
