"""The reference service (`python -m reference`) as a subprocess of the local stack."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from drillbook.glancy import (
    GlancyClient,
    replicas_breaker,
    replicas_cache_stats,
    same_answer,
)
from drillbook.stack.process import LocalProcess, ManagedProcess
from drillbook.stack.router import Router

REPO_ROOT = Path(__file__).resolve().parents[2]
HTTP_TIMEOUT_S = 5.0


def write_config(path: Path, config: dict) -> None:
    """A process's JSON config, readable by its owner only: it holds passwords and keys."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(config, indent=2))
    path.chmod(0o600)


class ReferenceService(LocalProcess):
    def __init__(
        self,
        *,
        port: int,
        database_dsn: str,
        redis_url: str,
        llm: dict | None,
        version: str = "v1",
        exports: dict | None = None,
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
            "version": version,
            **({"exports": exports} if exports else {}),
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
        write_config(self.config_path, self.config)
        self._process.start()

    def wait_ready(self) -> None:
        self.wait_healthz()

    def stop(self) -> None:
        self._process.stop(timeout_s=self.ready_timeout_s)

    @property
    def version(self) -> str:
        """The version it runs, as it reports it (GET /healthz)."""
        return self._client().version()

    def restart_as(self, version: str) -> None:
        """Stop, then start again running `version`, and wait until it answers."""
        self.stop()
        self.config["version"] = version
        self.start()

    def switch_database(self, dsn: str) -> dict:
        """Make the running service use another database (PUT /admin/database); a restart
        keeps it, as an operator would update the config file too."""
        answer = self._call("PUT", "/admin/database", {"dsn": dsn})
        self.config["database"]["dsn"] = dsn  # only once the service took it
        return answer

    def database(self) -> dict:
        return self._call("GET", "/admin/database")

    def switch_redis(self, url: str) -> dict:
        """Make the running service use another Redis node (PUT /admin/redis); kept on restart."""
        answer = self._call("PUT", "/admin/redis", {"url": url})
        self.config["redis"]["url"] = url  # only once the service took it
        return answer

    def redis(self) -> dict:
        return self._call("GET", "/admin/redis")

    def llm_breaker(self) -> dict:
        """The LLM adapter's circuit breaker: state and recent transitions (GET /admin/llm)."""
        return self._client().llm_breaker()

    def cache_stats(self, timeout_s: float = HTTP_TIMEOUT_S) -> dict:
        """Its result-cache reads since it started (GET /admin/cache/stats): `hits`, `misses`,
        `unavailable`, `since` (epoch seconds) and `redis` (the node, whether it is used now)."""
        return self._client(timeout_s).cache_stats()

    def _call(self, method: str, path: str, body: dict | None = None) -> dict:
        """An admin call to this replica that must succeed (raises ServiceCallError)."""
        return self._client().call(method, path, body)

    def _client(self, timeout_s: float = HTTP_TIMEOUT_S) -> GlancyClient:
        return GlancyClient(self.url, timeout_s)


class ServiceReplicas:
    """The service as its clients and operators see it: replicas behind the router.

    Clients use `url`, the router's. Admin calls go to every replica, since each has its own
    pool, breaker and configuration.
    """

    def __init__(self, replicas: list[ReferenceService], router: Router) -> None:
        self.replicas = replicas
        self.router = router

    @property
    def url(self) -> str:
        return self.router.url

    @property
    def port(self) -> int:
        return self.router.port

    def spawn(self) -> None:
        for replica in self.replicas:
            replica.spawn()
        self.router.spawn()

    def wait_ready(self) -> None:
        for replica in self.replicas:
            replica.wait_ready()
        self.router.wait_ready()

    def stop(self) -> None:
        """Router first, so no request reaches a stopping replica; every stop is tried."""
        failures = []
        for component in [self.router, *self.replicas]:
            try:
                component.stop()
            except Exception as exc:  # keep stopping the rest
                failures.append(f"{component.address}: {exc}")
        if failures:
            raise RuntimeError(f"service replicas did not stop cleanly: {failures}")

    def pids(self) -> dict[str, int | None]:
        found = {f"service r{n}": r.pid() for n, r in enumerate(self.replicas, 1)}
        return {"router": self.router.pid(), **found}

    def versions(self) -> list[str]:
        return [replica.version for replica in self.replicas]

    def roll(self, index: int, version: str) -> None:
        """Zero-downtime replacement of one replica: drain it at the router (in-flight
        requests finish), restart it as `version`, wait for it, put it back."""
        replica = self.replicas[index]
        self.router.drain(replica.address)
        replica.restart_as(version)
        self.router.restore(replica.address)

    def switch_database(self, dsn: str) -> dict:
        return same_answer([replica.switch_database(dsn) for replica in self.replicas])

    def database(self) -> dict:
        return same_answer([replica.database() for replica in self.replicas])

    def switch_redis(self, url: str) -> dict:
        return same_answer([replica.switch_redis(url) for replica in self.replicas])

    def redis(self) -> dict:
        return same_answer([replica.redis() for replica in self.replicas])

    def llm_breaker(self) -> dict:
        """Every replica's breaker: the state they share and all transitions
        (drillbook.glancy.replicas_breaker)."""
        return replicas_breaker([replica.llm_breaker() for replica in self.replicas])

    def cache_stats(self, timeout_s: float = HTTP_TIMEOUT_S) -> dict:
        """The service's result-cache reads: every replica asked directly (the router would
        answer for one of them), summed (drillbook.glancy.replicas_cache_stats)."""
        return replicas_cache_stats([replica.cache_stats(timeout_s) for replica in self.replicas])
