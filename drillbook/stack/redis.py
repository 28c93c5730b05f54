"""A Redis node with AOF persistence for the local stack."""

from __future__ import annotations

import secrets
from pathlib import Path

import redis

from drillbook.stack.process import LocalProcess, ManagedProcess


class RedisNode(LocalProcess):
    def __init__(
        self,
        name: str,
        *,
        server: str,
        port: int,
        data_dir: Path,
        log_path: Path,
        ready_timeout_s: float,
    ) -> None:
        self.name = name
        self.port = port
        self.data_dir = data_dir
        self.log_path = log_path
        self.ready_timeout_s = ready_timeout_s
        self.password = secrets.token_urlsafe(16)
        self.proxy_port: int | None = None
        options = {
            "bind": "127.0.0.1",
            "port": str(port),
            "dir": str(data_dir),
            "requirepass": self.password,
            "appendonly": "yes",
            "appendfsync": "everysec",
            # A replica's full sync otherwise waits 5 s for more replicas to join.
            "repl-diskless-sync-delay": "0",
            "save": "",
            "daemonize": "no",
            "logfile": "",
        }
        argv = [server]
        for key, value in options.items():
            argv += [f"--{key}", value]
        self._process = ManagedProcess(f"redis {name}", argv, log_path, cwd=data_dir)

    @property
    def direct_url(self) -> str:
        return f"redis://:{self.password}@127.0.0.1:{self.port}/0"

    @property
    def url(self) -> str:
        """Through the node's Toxiproxy proxy (direct if it has none)."""
        return f"redis://:{self.password}@127.0.0.1:{self.proxy_port or self.port}/0"

    def client(self, timeout_s: float = 1.0) -> redis.Redis:
        """A direct client with socket timeouts."""
        return redis.Redis.from_url(
            self.direct_url, socket_timeout=timeout_s, socket_connect_timeout=timeout_s
        )

    def start(self) -> None:
        self.spawn()
        self.wait_ready()

    def spawn(self) -> None:
        """Start the process without waiting, so other components can start meanwhile."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._process.start()

    def wait_ready(self) -> None:
        def ping() -> None:
            with self.client() as client:
                client.ping()

        self._process.wait_ready(ping, self.ready_timeout_s)

    def stop(self) -> None:
        self._process.stop(timeout_s=self.ready_timeout_s)

    def kill9(self) -> None:
        self._process.kill()
