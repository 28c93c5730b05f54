"""The local environment: every component a real process on 127.0.0.1 under one run folder."""

from __future__ import annotations

import secrets
import stat
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from drillbook.faults.toxiproxy import ToxiproxyClient
from drillbook.stack.commands import CommandLog
from drillbook.stack.llm import LlmStandIn
from drillbook.stack.ports import free_port
from drillbook.stack.postgres import PostgresPair
from drillbook.stack.redis import RedisNode
from drillbook.stack.router import Router
from drillbook.stack.service import REPO_ROOT, ReferenceService, ServiceReplicas
from drillbook.stack.toxiproxy_server import ToxiproxyServer, find_toxiproxy_server


@dataclass(frozen=True)
class LocalSettings:
    pg_bin_dir: Path = Path("/usr/lib/postgresql/15/bin")
    # Seconds after which an idle-but-written WAL segment is archived anyway.
    archive_timeout_s: int = 5
    ready_timeout_s: float = 30.0
    redis_server: str = "redis-server"
    toxiproxy_server: str | None = None  # None: see find_toxiproxy_server
    schema_path: Path = REPO_ROOT / "reference" / "schema.sql"
    # The service's LLM adapter (seed section 1: Doubao behind an adapter with a breaker).
    llm_timeout_s: float = 0.8
    llm_breaker: bool = True
    # Replicas of the service behind the router: two, so a release can roll one at a time.
    replicas: int = 2
    nginx: str = "nginx"


def _check_traversable(run_dir: Path) -> None:
    """PostgreSQL runs as another user: every folder above its data must be world-searchable."""
    for folder in [run_dir, *run_dir.parents]:
        if not folder.stat().st_mode & stat.S_IXOTH:
            raise PermissionError(
                f"run folder {run_dir}: {folder} is not world-traversable (mode "
                f"{oct(folder.stat().st_mode & 0o777)}); the postgres user cannot reach its data"
            )


class LocalStack:
    def __init__(
        self,
        settings: LocalSettings,
        run_dir: Path,
        progress: Callable[[str], None] = print,
    ) -> None:
        self.settings = settings
        self.run_dir = Path(run_dir)
        self.progress = progress
        logs = self.run_dir / "logs"
        timeout = settings.ready_timeout_s
        self.pg = PostgresPair(
            self.run_dir / "pg",
            logs,
            bin_dir=settings.pg_bin_dir,
            ready_timeout_s=timeout,
            archive_timeout_s=settings.archive_timeout_s,
            app_password=secrets.token_urlsafe(16),
            progress=progress,
        )
        self.redis = RedisNode(
            "redis",
            server=settings.redis_server,
            port=free_port(),
            data_dir=self.run_dir / "redis",
            log_path=logs / "redis.log",
            ready_timeout_s=timeout,
        )
        self._toxiproxy_server = ToxiproxyServer(
            binary=find_toxiproxy_server(settings.toxiproxy_server),
            port=free_port(),
            log_path=logs / "toxiproxy.log",
            ready_timeout_s=timeout,
        )
        self.toxiproxy: ToxiproxyClient = self._toxiproxy_server.client
        self.redis.proxy_port = free_port()
        self.llm = LlmStandIn(port=free_port(), log_path=logs / "llm.log", ready_timeout_s=timeout)
        self.llm.proxy_port = free_port()
        replicas = [
            ReferenceService(
                port=free_port(),
                database_dsn=self.pg.node("az-a").app_dsn,
                redis_url=self.redis.url,
                llm={
                    "url": self.llm.url,
                    "timeout_s": settings.llm_timeout_s,
                    "breaker": {"enabled": settings.llm_breaker},
                },
                config_path=self.run_dir / "service" / f"r{n}" / "config.json",
                log_path=logs / f"service-r{n}.log",
                ready_timeout_s=timeout,
            )
            for n in range(1, settings.replicas + 1)
        ]
        router = Router(
            port=free_port(),
            backends=[replica.address for replica in replicas],
            run_dir=self.run_dir / "router",
            log_path=logs / "router.log",
            ready_timeout_s=timeout,
            binary=settings.nginx,
        )
        self.service = ServiceReplicas(replicas, router)

    def start(self) -> None:
        """Bring everything up; on failure stop what was started and re-raise."""
        started = time.monotonic()
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.run_dir.chmod(0o755)
        _check_traversable(self.run_dir)
        try:
            # Redis and Toxiproxy boot while PostgreSQL initialises, the service (once the
            # primary and the proxies exist) while the backups for PITR and az-b are taken.
            self.redis.spawn()
            self._toxiproxy_server.spawn()
            self.llm.spawn()
            self.pg.start_primary(self.settings.schema_path)
            self.redis.wait_ready()
            self.progress(f"redis up on {self.redis.address}")
            self._toxiproxy_server.wait_ready()
            self._create_proxies()
            self.progress(f"toxiproxy up on {self._toxiproxy_server.url}")
            self.llm.wait_ready()
            self.progress(f"llm stand-in up on {self.llm.address}")
            self.service.spawn()
            self.pg.start_standby()
            self.service.wait_ready()
            self.progress(
                f"reference service up on {self.service.url} "
                f"({len(self.service.replicas)} replicas behind nginx)"
            )
        except BaseException:
            self.stop()
            raise
        self.progress(f"local stack up in {time.monotonic() - started:.1f} s")

    def _create_proxies(self) -> None:
        self.pg.attach_toxiproxy(self.toxiproxy)
        for name, component in (("redis", self.redis), ("llm", self.llm)):
            listen = f"127.0.0.1:{component.proxy_port}"
            self.toxiproxy.create_proxy(name, listen, component.address)

    def stop(self) -> None:
        """Stop everything in reverse order; already-dead components are fine.

        A component that cannot be stopped does not keep the others running: every stop is
        tried, then the failures are raised together.
        """
        failures = []
        for name, stop in [
            ("reference service", self.service.stop),
            ("llm stand-in", self.llm.stop),
            ("toxiproxy", self._toxiproxy_server.stop),
            ("redis", self.redis.stop),
            ("postgres", self.pg.stop),
        ]:
            try:
                stop()
            except Exception as exc:  # keep stopping the rest
                failures.append(f"{name}: {type(exc).__name__}: {exc}")
        if failures:
            raise RuntimeError(f"local stack in {self.run_dir} did not stop cleanly: {failures}")
        self.progress("local stack stopped")

    @property
    def commands(self) -> CommandLog:
        """Every command the environment ran (initdb, pg_basebackup, kill -9, promote, ...)."""
        return self.pg.commands

    def pids(self) -> dict[str, int]:
        """Pids of the running components (PostgreSQL: postmasters)."""
        found = {
            **self.service.pids(),
            "toxiproxy": self._toxiproxy_server.pid(),
            "redis": self.redis.pid(),
            "llm stand-in": self.llm.pid(),
        }
        for node in [*self.pg.nodes.values(), *self.pg.restored]:
            found[f"postgres {node.name}"] = node.pid()
        return {name: pid for name, pid in found.items() if pid is not None}

    def endpoints(self) -> dict[str, str]:
        """Names to URLs/DSNs, passwords included (evidence code redacts)."""
        endpoints = {}
        for name, node in self.pg.nodes.items():
            endpoints[f"postgres {name} admin"] = node.admin_dsn
            endpoints[f"postgres {name} app via proxy"] = node.app_dsn
        endpoints["redis direct"] = self.redis.direct_url
        endpoints["redis via proxy"] = self.redis.url
        endpoints["toxiproxy api"] = self._toxiproxy_server.url
        endpoints["llm via proxy"] = self.llm.url
        endpoints["reference service"] = self.service.url
        return endpoints
