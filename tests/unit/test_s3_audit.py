"""The object stores' audit log as the traces of their requests: the newest traced write per
bucket and failed download per store, what the object-storage alerts name."""

from __future__ import annotations

import contextlib
import http.client
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

from botocore.exceptions import ClientError

from drillbook.objects import TraceHeader, s3_client
from drillbook.stack.s3_audit import AuditTraces, handler

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
OTHER = "0af7651916cd43dd8448eb211c80319c"


def entry(name: str, status: int, trace: str | None, bucket: str = "glancy-exports") -> dict:
    headers = {"Authorization": "AWS4-HMAC-SHA256 Credential=x, Signature=y"}
    if trace:
        headers["Traceparent"] = f"00-{trace}-00f067aa0ba902b7-01"
    return {
        "api": {"name": name, "bucket": bucket, "statusCode": status},
        "requestHeader": headers,
    }


def test_the_newest_traced_write_and_failed_download_are_kept_and_nothing_else():
    traces = AuditTraces()
    traces.record("ap-southeast-1", entry("PutObject", 200, OTHER), at=1.0)
    traces.record("ap-southeast-1", entry("PutObject", 200, TRACE), at=2.0)
    traces.record("ap-southeast-1", entry("PutObject", 503, OTHER), at=3.0)  # not written
    traces.record("ap-southeast-1", entry("PutObject", 200, None), at=4.0)  # no trace
    traces.record("ap-southeast-1", entry("GetObject", 200, OTHER), at=5.0)  # served
    traces.record("ap-southeast-1", entry("GetObject", 404, TRACE), at=6.0)
    traces.record("ap-northeast-1", entry("HeadObject", 404, OTHER), at=7.0)  # no download
    assert traces.writes == {"glancy-exports": (2.0, TRACE)}
    assert traces.failed_downloads == {"ap-southeast-1": (6.0, TRACE)}
    exposition = traces.exposition()
    assert (
        f's3_last_traced_write_timestamp_seconds{{bucket="glancy-exports",trace_id="{TRACE}"}} '
        "2.000" in exposition
    )
    assert (
        f's3_last_traced_failed_download_timestamp_seconds{{store="ap-southeast-1",'
        f'trace_id="{TRACE}"}} 6.000' in exposition
    )
    assert "Signature" not in exposition


class Store(BaseHTTPRequestHandler):
    """A store that has nothing, keeping the traceparent of each request it was sent."""

    sent: ClassVar[list[str]] = []

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        self.sent.append(self.headers.get("traceparent", ""))
        self.send_response(404)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


def test_a_traced_client_sends_a_new_trace_id_with_each_request():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Store)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    endpoint = f"http://127.0.0.1:{server.server_address[1]}"
    client = s3_client(endpoint, "ap-southeast-1", "key", "secret")
    trace = TraceHeader(client)
    try:
        for _ in range(2):
            with contextlib.suppress(ClientError):
                client.get_object(Bucket="glancy-exports", Key="gone")
    finally:
        client.close()
        server.shutdown()
    first, last = (header.split("-")[1] for header in Store.sent)
    assert first != last and last == trace.last and len(last) == 32


def post(port: int, path: str, body: bytes, length: str | None = None) -> int:
    """The status of a raw POST: http.client sends the Content-Length it is given."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.putrequest("POST", path)
        conn.putheader("Content-Length", str(len(body)) if length is None else length)
        conn.endheaders()
        conn.send(body)
        return conn.getresponse().status
    finally:
        conn.close()


def test_the_receiver_takes_entries_and_batches_and_refuses_what_is_no_entry():
    traces = AuditTraces()
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler(traces))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]
    try:
        batch = json.dumps([entry("PutObject", 200, TRACE), {"api": "no"}, 7]).encode()
        assert post(port, "/audit/ap-southeast-1", batch) == 200
        assert post(port, "/audit/ap-southeast-1", b"{not json") == 400
        assert post(port, "/audit/ap-southeast-1", b"{}", length="-1") == 400
        assert post(port, "/audit/ap-southeast-1", b"", length=str(2 << 20)) == 413
        assert post(port, '/audit/a"b', b"{}") == 404
        assert post(port, "/elsewhere", b"{}") == 404
    finally:
        server.shutdown()
    assert traces.writes == {"glancy-exports": (traces.writes["glancy-exports"][0], TRACE)}
