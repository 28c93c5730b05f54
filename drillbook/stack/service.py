"""The reference service (`python -m reference`) as a subprocess of the local stack."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import httpx

from drillbook.stack.process import LocalProcess, ManagedProcess

REPO_ROOT = Path(__file__).resolve().parents[2]
HTTP_TIMEOUT_S = 5.0


class ReferenceService(LocalProcess):
    def __init__(
        self,
        *,
        port: int,
        database_dsn: str,
        redis_url: str,
        llm: dict | None,
        config_path: Path,
        log_path: Path,
        ready_timeout_s: float,
    ) -> None:
        self.port = port
        self.config_path = config_path
        self.log_path = log_path
        self.ready_timeout_s = ready_timeout_s
        self.config = {
            "host": "127.0.0.1",
            "port": port,
            "database": {
                "dsn": database_dsn,
                "pool_min": 1,
                "pool_max": 8,
                "pool_timeout_s": 1.0,
                "connect_timeout_s": 1,
                "statement_timeout_ms": 2000,
            },
            "redis": {"url": redis_url, "socket_timeout_s": 0.5},
            "cache_ttl_s": 300,
            **({"llm": llm} if llm else {}),
        }
        argv = [sys.executable, "-m", "reference", "--config", str(config_path)]
        self._process = ManagedProcess("reference service", argv, log_path, cwd=REPO_ROOT)

    @property
    def url(self) -> str:
        return f"http://{self.address}"

    def start(self) -> None:
        self.spawn()
        self.wait_ready()

    def spawn(self) -> None:
        """Write the config and start the process without waiting."""
        self.config_path.parent.mkdir(parents=True, exist_ok=True)
        self.config_path.write_text(json.dumps(self.config, indent=2))
        self.config_path.chmod(0o600)  # it holds passwords
        self._process.start()

    def wait_ready(self) -> None:
        self.wait_healthz()

    def stop(self) -> None:
        self._process.stop(timeout_s=self.ready_timeout_s)

    def switch_database(self, dsn: str) -> dict:
        """Make the running service use another database (PUT /admin/database)."""
        return self._call("PUT", "/admin/database", {"dsn": dsn})

    def database(self) -> dict:
        return self._call("GET", "/admin/database")

    def llm_breaker(self) -> dict:
        """The LLM adapter's circuit breaker: state and recent transitions (GET /admin/llm)."""
        return self._call("GET", "/admin/llm")

    def _call(self, method: str, path: str, body: dict | None = None) -> dict:
        url = self.url + path
        try:
            response = httpx.request(method, url, json=body, timeout=HTTP_TIMEOUT_S)
        except httpx.TransportError as exc:
            raise RuntimeError(
                f"reference service {method} {url} failed: {type(exc).__name__}: {exc}"
            ) from exc
        if response.status_code >= 300:
            raise RuntimeError(
                f"reference service {method} {url} answered {response.status_code}: "
                f"{response.text[:500]}"
            )
        return response.json()
