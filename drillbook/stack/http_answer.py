"""How the stack's own small HTTP servers (its exporters and receivers) answer a request."""

from __future__ import annotations

from http import HTTPStatus
from http.server import BaseHTTPRequestHandler

METRICS = "text/plain; version=0.0.4"


def answer(
    handler: BaseHTTPRequestHandler, status: HTTPStatus, body: bytes, content_type: str
) -> None:
    """`body` as the whole answer, with its length, so the client reads no further."""
    handler.send_response(status)
    handler.send_header("Content-Type", content_type)
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)
