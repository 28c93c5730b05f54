"""The local router: nginx in front of the service's Ready endpoints, as kube-proxy or an
ingress would be. It runs in the foreground as a child of the harness, with every path
(config, pid, logs, temp files) inside the run folder.

Its backends change by rewriting the upstream and reloading: nginx's reload is graceful, old
workers finish their in-flight requests before they exit, so a backend taken out can be stopped
once they are gone.
"""

from __future__ import annotations

import contextlib
import os
import signal
from pathlib import Path

import httpx

from drillbook.stack.process import LocalProcess, ManagedProcess, _parent_pids, log_tail, pid_alive
from drillbook.waits import WaitTimeout, wait_until

CONFIG = """\
worker_processes 1;
pid {run}/nginx.pid;
error_log {log} notice;
events {{ worker_connections 1024; }}
http {{
    # One line a request: when it ended, its status (499: the client gave up first), method,
    # endpoint and duration; the front door's is what environments/exporters/mtail counts.
    # Endpoints are the service's route templates, any other path "unmatched" (as the service
    # labels it), so the label set stays small whatever clients ask for.
    map $uri $endpoint {{
        default "unmatched";
        ~^/exports/[^/]+$ "/exports/{{task_id}}";
        ~^/(lookup|history|regenerate|exports|healthz|metrics)$ $uri;
        ~^/billing/(checkout|callback)$ $uri;
        ~^/admin/[a-z/]+$ $uri;
    }}
    log_format outcomes '$msec $status $request_method $endpoint $request_time';
    access_log {access_log} outcomes;
    client_body_temp_path {run}/tmp/body;
    proxy_temp_path {run}/tmp/proxy;
    fastcgi_temp_path {run}/tmp/fastcgi;
    uwsgi_temp_path {run}/tmp/uwsgi;
    scgi_temp_path {run}/tmp/scgi;
    upstream service {{
{servers}
    }}
    server {{
        listen {host}:{port};
        # No client keep-alive: a reload closes idle kept-alive connections, and a request
        # sent on one at that instant would fail although no replica was down.
        keepalive_timeout 0;
        location / {{
            proxy_pass http://service;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
{retry}
            proxy_connect_timeout 1s;
            proxy_read_timeout 30s;
        }}
    }}
}}
"""


# With no Ready endpoint the upstream holds only this, marked down: clients get a 502, as
# from a Service without endpoints.
NO_BACKEND = "127.0.0.1:9"
RETRY = """\
            # A replica that dies mid-request is retried on another, unseen by clients. A 503
            # is the service's own answer (its database is down): passed on, not retried.
            proxy_next_upstream error timeout http_502;"""
NO_RETRY = """\
            # A client that resolved the name to a region that does not answer fails: it does
            # not try the other region's address.
            proxy_next_upstream off;"""


class Router(LocalProcess):
    """nginx listening on host:port, balancing over `backends` (host:port) by their weights:
    a Service's Ready endpoints, or the regions a DNS name resolves to. `retry`: a request a
    backend fails to answer is tried on another."""

    def __init__(
        self,
        *,
        port: int,
        run_dir: Path,
        log_path: Path,
        ready_timeout_s: float,
        binary: str = "nginx",
        host: str = "127.0.0.1",
        retry: bool = True,
    ) -> None:
        self.host = host
        self.port = port
        self.retry = retry
        self.backends: list[str] = []
        self.weights: dict[str, int] = {}
        self.run_dir = run_dir
        self.log_path = log_path
        self.ready_timeout_s = ready_timeout_s
        self.config_path = run_dir / "nginx.conf"
        argv = [binary, "-c", str(self.config_path), "-g", "daemon off;"]
        self._process = ManagedProcess("router (nginx)", argv, log_path)

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def url(self) -> str:
        return f"http://{self.address}"

    @property
    def access_log(self) -> Path:
        return self.log_path.with_name(f"{self.log_path.stem}-access.log")

    def spawn(self) -> None:
        (self.run_dir / "tmp").mkdir(parents=True, exist_ok=True)
        self._write_config(self.weights)
        self._process.start()

    def wait_ready(self) -> None:
        """Ready once nginx answers at all: with no backend yet its answer is a 502."""
        self._process.wait_ready(
            lambda: httpx.get(f"{self.url}/healthz", timeout=1.0), self.ready_timeout_s
        )

    def set_backends(self, backends: list[str] | dict[str, int]) -> None:
        """Route to `backends` only (a list: weight 1 each; a dict: backend -> weight, 0 for
        none); return once requests in flight to the others are done. `backends` changes only
        once nginx runs with them, so a failed reload is tried again."""
        weights = dict(backends) if isinstance(backends, dict) else dict.fromkeys(backends, 1)
        weights = {backend: weight for backend, weight in weights.items() if weight > 0}
        self._reload(weights)
        self.weights = weights
        self.backends = list(weights)

    def _write_config(self, weights: dict[str, int]) -> None:
        # max_fails=0: no passive marking, which would keep a replica out for fail_timeout
        # (10 s) after an outage of a dependency; replicas leave only with their endpoint.
        servers = [f"        server {b} weight={w} max_fails=0;" for b, w in weights.items()]
        self.config_path.write_text(
            CONFIG.format(
                run=self.run_dir,
                log=self.log_path,
                access_log=self.access_log,
                servers="\n".join(servers) or f"        server {NO_BACKEND} down;",
                host=self.host,
                port=self.port,
                retry=RETRY if self.retry else NO_RETRY,
            )
        )

    def _workers(self) -> set[int]:
        master = self._process.pid
        return {pid for pid, parent in _parent_pids().items() if parent == master}

    def _reload(self, weights: dict[str, int]) -> None:
        """`nginx -s reload` (SIGHUP to the master) with `weights`, then wait until every
        worker of the old configuration has finished its requests and exited."""
        master = self._process.pid
        if master is None:
            raise RuntimeError(f"router is not running; see log {self.log_path}")
        self._write_config(weights)
        old = self._workers()
        with contextlib.suppress(ProcessLookupError):
            os.kill(master, signal.SIGHUP)

        def reloaded() -> tuple[bool, str]:
            lingering = sorted(pid for pid in old if pid_alive(pid))
            new = sorted(self._workers() - old)
            return not lingering and bool(new), f"old workers {lingering} running, new {new}"

        try:
            wait_until("the router's reload", reloaded, self.ready_timeout_s, interval_s=0.02)
        except WaitTimeout as exc:
            raise RuntimeError(
                f"{exc}; see log {self.log_path}:\n{log_tail(self.log_path)}"
            ) from exc
