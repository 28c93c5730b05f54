"""The harness's Alertmanager receiver (`python -m drillbook.stack.alert_receiver`): a webhook
that keeps every notification Alertmanager delivers, with the instant it arrived, and lists
them back to the drills (GET /notifications?since=<epoch s>).

A process of its own, like the other components, so that a drill run against a detached stack
reads the same notifications as one run in the stack's own process. Each notification is also
appended to a JSON-lines file as it arrives: the record outlives the receiver.
"""

from __future__ import annotations

import argparse
import json
import threading
import time
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

from drillbook.stack.http_answer import answer

# Alertmanager's webhook payloads are a few kilobytes; anything far larger is not one.
MAX_BODY = 1 << 20


class Notifications:
    """What arrived, in order: each Alertmanager payload with `received_at` added."""

    def __init__(self, journal: Path) -> None:
        self._journal = journal
        self._items: list[dict] = []
        self._lock = threading.Lock()

    def add(self, payload: dict) -> None:
        # after the payload: a payload's own field of that name cannot replace the arrival
        item = {**payload, "received_at": time.time()}
        with self._lock:
            self._items.append(item)
            with self._journal.open("a") as out:
                out.write(json.dumps(item) + "\n")

    def since(self, at: float) -> list[dict]:
        with self._lock:
            return [item for item in self._items if item["received_at"] >= at]


def handler(notifications: Notifications) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
            length = self._number(int, self.headers.get("Content-Length") or "0", "Content-Length")
            if length is None:
                return
            if urlparse(self.path).path != "/alerts":
                self._answer(HTTPStatus.NOT_FOUND, {"error": f"no route {self.path}"})
                return
            if not 0 < length <= MAX_BODY:
                self._answer(HTTPStatus.BAD_REQUEST, {"error": f"body of {length} bytes"})
                return
            try:
                payload = json.loads(self.rfile.read(length))
                alerts = payload["alerts"]
            except (ValueError, KeyError, TypeError) as exc:
                self._answer(HTTPStatus.BAD_REQUEST, {"error": f"not a notification: {exc}"})
                return
            notifications.add(payload)
            self._answer(HTTPStatus.OK, {"recorded": len(alerts)})

        def do_GET(self) -> None:  # noqa: N802
            url = urlparse(self.path)
            if url.path == "/healthz":
                self._answer(HTTPStatus.OK, {"status": "ok"})
            elif url.path == "/notifications":
                since = self._number(float, parse_qs(url.query).get("since", ["0"])[0], "since")
                if since is None:
                    return
                self._answer(HTTPStatus.OK, notifications.since(since))
            else:
                self._answer(HTTPStatus.NOT_FOUND, {"error": f"no route {self.path}"})

        def _number(self, kind: type, text: str, what: str) -> float | None:
            """`text` as a `kind`, else None once a 400 naming `what` is answered."""
            try:
                return kind(text)
            except ValueError:
                self._answer(HTTPStatus.BAD_REQUEST, {"error": f"{what} is not a number: {text!r}"})
                return None

        def _answer(self, status: HTTPStatus, body: object) -> None:
            answer(self, status, json.dumps(body).encode(), "application/json")

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            """Quiet: the journal is the record."""

    return Handler


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--journal", type=Path, required=True)
    args = parser.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", args.port), handler(Notifications(args.journal)))
    server.serve_forever()


if __name__ == "__main__":
    main()
