"""The embedded monitoring's replication canary (`python -m drillbook.stack.crr_exporter`):
MinIO reports no replication backlog, so, as a blackbox exporter probes a service from
outside, this process writes a canary object to a replicated bucket every second, looks for
the earlier ones in the DR region (drillbook.workload.canary) and exports the age of the
oldest not yet there as `s3_crr_lag_seconds{bucket}`, the plan's CRR lag (section 2: >60 s).

It has a bucket of its own, replicated like the others through the same link, so its objects
never enter a drill's comparison of the exports bucket. The stores' keys come through the
environment, never the command line.
"""

from __future__ import annotations

import argparse
import os
import threading
import time
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from botocore.client import BaseClient
from botocore.exceptions import BotoCoreError, ClientError

from drillbook.objects import s3_client
from drillbook.stack.http_answer import METRICS, answer
from drillbook.workload.canary import CrrCanary
from drillbook.workload.history import History, Op

# The variables each store's key pair is read from: <REGION ROLE>_ACCESS_KEY, _SECRET_KEY.
ROLES = ("PRIMARY", "DR")


class LastSample(History):
    """Only the newest sample: the exporter runs as long as the stack, and a scrape reads
    nothing older."""

    def record(self, op: Op) -> None:
        with self._lock:
            self._ops[-1:] = [op]


def exposition(history: History, bucket: str) -> str:
    """The last sample's lag and backlog; no lag sample until a canary has arrived (a lag
    that is not known is not 0)."""
    samples = history.ops()
    lines = [
        "# HELP s3_crr_lag_seconds Age of the oldest canary object not yet replicated.",
        "# TYPE s3_crr_lag_seconds gauge",
        "# HELP s3_crr_pending_objects Canary objects written and not yet replicated.",
        "# TYPE s3_crr_pending_objects gauge",
    ]
    if samples:
        last = samples[-1].value
        if last["lag_s"] is not None:
            lines.append(f's3_crr_lag_seconds{{bucket="{bucket}"}} {last["lag_s"]:.3f}')
        lines.append(f's3_crr_pending_objects{{bucket="{bucket}"}} {last["pending"]}')
    return "\n".join(lines) + "\n"


def handler(history: History, bucket: str) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
            if self.path == "/metrics":
                answer(self, HTTPStatus.OK, exposition(history, bucket).encode(), METRICS)
            else:
                answer(self, HTTPStatus.NOT_FOUND, b"not found\n", "text/plain")

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            """Quiet: Prometheus scrapes every second."""

    return Handler


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--bucket", required=True)
    for role in ROLES:
        parser.add_argument(f"--{role.lower()}-endpoint", required=True)
        parser.add_argument(f"--{role.lower()}-region", required=True)
    parser.add_argument("--interval-s", type=float, default=1.0)
    args = parser.parse_args()
    clients = {
        role: lambda role=role: s3_client(
            getattr(args, f"{role.lower()}_endpoint"),
            getattr(args, f"{role.lower()}_region"),
            os.environ[f"{role}_ACCESS_KEY"],
            os.environ[f"{role}_SECRET_KEY"],
        )
        for role in ROLES
    }
    history = LastSample()
    server = ThreadingHTTPServer(("127.0.0.1", args.port), handler(history, args.bucket))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    # A canary written before the bucket's replication rule exists may never be replicated
    # and would read as lag growing for ever: the exporter serves no lag until the rule is in.
    await_replication(clients["PRIMARY"](), args.bucket, args.interval_s)
    CrrCanary(history, clients["PRIMARY"], clients["DR"], args.bucket, args.interval_s).start()
    threading.Event().wait()


def await_replication(client: BaseClient, bucket: str, interval_s: float) -> None:
    """Until `bucket` in the primary region has a replication configuration."""
    while True:
        try:
            client.get_bucket_replication(Bucket=bucket)
            return
        except (BotoCoreError, ClientError):
            time.sleep(interval_s)


if __name__ == "__main__":
    main()
