"""The plan's monitoring (seed section 2) in the embedded stack: Prometheus, Alertmanager and
the PostgreSQL and Redis exporters from Debian's packages, and the harness's own receiver of
Alertmanager's notifications (drillbook.stack.alert_receiver).

Debian builds Prometheus without Kubernetes discovery, so the service's Pods reach it by file
discovery instead: each region's endpoint follower (drillbook.stack.endpoints), which routes
the region's traffic to its Ready Pods, writes the same Pods as Prometheus's targets. It
scrapes every second and evaluates the repository's alert rules (environments/alerts) every
second, so a drill of a minute sees an alert fire and resolve; a team's Prometheus scrapes
every 15 s or so, and the figures say which.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import yaml

from drillbook.stack.ports import free_port
from drillbook.stack.process import LocalProcess, ManagedProcess, stop_all
from drillbook.stack.tools import REPO_ROOT

ALERT_RULES = REPO_ROOT / "environments" / "alerts" / "glancy.rules.yml"
POSTGRES_QUERIES = REPO_ROOT / "environments" / "exporters" / "postgres.queries.yml"
MTAIL_PROGRAMS = REPO_ROOT / "environments" / "exporters" / "mtail"
SCRAPE_INTERVAL_S = 1.0
# How long an exporter waits for the server it watches, well inside a scrape.
EXPORTER_TIMEOUT_S = 0.5
EVALUATION_INTERVAL_S = 1.0


class ServiceTargets:
    """A region's service Pods as a file Prometheus discovers its targets from, rewritten
    whole (then renamed into place, so never read half written) each time they change."""

    def __init__(self, region: str, path: Path) -> None:
        self.region = region
        self.path = path

    def __call__(self, addresses: list[str]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        groups = [{"targets": addresses, "labels": {"region": self.region}}]
        partial = self.path.with_suffix(".partial")
        partial.write_text(json.dumps(groups))
        partial.replace(self.path)


class HttpComponent(LocalProcess):
    """A monitoring process ready once `ready_path` answers 2xx."""

    ready_path: str

    @property
    def url(self) -> str:
        return f"http://{self.address}"

    def wait_ready(self) -> None:
        def ready() -> None:
            httpx.get(f"http://{self.address}{self.ready_path}", timeout=1.0).raise_for_status()

        self._process.wait_ready(ready, self.ready_timeout_s)


class AlertReceiver(HttpComponent):
    ready_path = "/healthz"

    def __init__(self, *, port: int, journal: Path, log_path: Path, ready_timeout_s: float):
        self.port = port
        self.ready_timeout_s = ready_timeout_s
        argv = [sys.executable, "-m", "drillbook.stack.alert_receiver", "--port", str(port)]
        self._process = ManagedProcess(
            "alert receiver", [*argv, "--journal", str(journal)], log_path, cwd=REPO_ROOT
        )


class ConfiguredDaemon(HttpComponent):
    """A daemon of the Prometheus project: one YAML configuration file, written as it starts,
    data under `root`, listening on its port, warnings only in its log."""

    def __init__(
        self,
        *,
        program: str,
        port: int,
        root: Path,
        config: dict,
        flags: list[str],
        log_path: Path,
        ready_timeout_s: float,
    ) -> None:
        self.port = port
        self.ready_timeout_s = ready_timeout_s
        self._config = config
        self._config_path = root / f"{program}.yml"
        self._process = ManagedProcess(
            program,
            [
                program,
                f"--config.file={self._config_path}",
                f"--web.listen-address={self.address}",
                "--log.level=warn",
                *flags,
            ],
            log_path,
        )

    def spawn(self) -> None:
        self._config_path.parent.mkdir(parents=True, exist_ok=True)
        self._config_path.write_text(yaml.safe_dump(self._config, sort_keys=False))
        super().spawn()


class Alertmanager(ConfiguredDaemon):
    ready_path = "/-/ready"

    def __init__(
        self, *, port: int, root: Path, receiver_url: str, log_path: Path, ready_timeout_s: float
    ) -> None:
        super().__init__(
            program="prometheus-alertmanager",
            port=port,
            root=root,
            config=alertmanager_config(receiver_url),
            # one instance: no gossip port
            flags=[f"--storage.path={root / 'data'}", "--cluster.listen-address="],
            log_path=log_path,
            ready_timeout_s=ready_timeout_s,
        )


def alertmanager_config(receiver_url: str) -> dict:
    """Every alert to the harness's receiver at once (no grouping wait), resolved ones too."""
    return {
        "route": {
            "receiver": "drillbook",
            "group_by": ["alertname", "endpoint", "instance"],
            "group_wait": "0s",
            "group_interval": "1s",
            "repeat_interval": "1h",
        },
        "receivers": [
            {
                "name": "drillbook",
                "webhook_configs": [{"url": f"{receiver_url}/alerts", "send_resolved": True}],
            }
        ],
    }


class Exporter(HttpComponent):
    """An exporter of what one server or store does, on its own port (`argv` takes it as
    `{address}`); its secrets reach it through the environment."""

    ready_path = "/metrics"

    def __init__(
        self,
        *,
        name: str,
        argv: list[str],
        env: dict[str, str],
        log_path: Path,
        ready_timeout_s: float,
    ) -> None:
        self.name = name
        self.port = free_port()
        self.ready_timeout_s = ready_timeout_s
        self._process = ManagedProcess(
            name,
            [arg.format(address=self.address, port=self.port) for arg in argv],
            log_path,
            cwd=REPO_ROOT,
            env={**os.environ, **env},
        )


def postgres_exporter(instance: str, dsn: str, log_path: Path, ready_timeout_s: float) -> Exporter:
    return Exporter(
        name=instance,
        argv=[
            "prometheus-postgres-exporter",
            f"--extend.query-path={POSTGRES_QUERIES}",
            "--web.listen-address={address}",
            "--log.level=warn",
        ],
        env={"DATA_SOURCE_NAME": f"{dsn}{'&' if '?' in dsn else '?'}sslmode=disable"},
        log_path=log_path,
        ready_timeout_s=ready_timeout_s,
    )


def redis_exporter(
    instance: str, address: str, password: str, log_path: Path, ready_timeout_s: float
) -> Exporter:
    return Exporter(
        name=instance,
        argv=[
            "prometheus-redis-exporter",
            f"--redis.addr=redis://{address}",
            "--web.listen-address={address}",
            "--log-format=txt",
            # inside the scrape's 1 s: a node that does not answer is redis_up 0, not a scrape
            # that timed out with no redis_up at all
            f"--connection-timeout={EXPORTER_TIMEOUT_S:g}s",
        ],
        env={"REDIS_PASSWORD": password},
        log_path=log_path,
        ready_timeout_s=ready_timeout_s,
    )


def front_door_exporter(access_log: Path, log_path: Path, ready_timeout_s: float) -> Exporter:
    """mtail counting the front door's requests from its access log, as a load balancer's
    metrics would (environments/exporters/mtail/front_door.mtail). The log exists before
    mtail starts: it polls only the files there at its start."""
    access_log.parent.mkdir(parents=True, exist_ok=True)
    access_log.touch()
    return Exporter(
        name="front-door",
        argv=[
            "mtail",
            f"-progs={MTAIL_PROGRAMS}",
            f"-logs={access_log}",
            "-address=127.0.0.1",
            "-port={port}",
            "-logtostderr",
            # how often the log is read for new lines: four times a scrape
            "-poll_interval=250ms",
        ],
        env={},
        log_path=log_path,
        ready_timeout_s=ready_timeout_s,
    )


def s3_audit_exporter(log_path: Path, ready_timeout_s: float) -> Exporter:
    """The stores' audit log as the traces of their requests (drillbook.stack.s3_audit)."""
    return Exporter(
        name="s3-audit",
        argv=[sys.executable, "-m", "drillbook.stack.s3_audit", "--port={port}"],
        env={},
        log_path=log_path,
        ready_timeout_s=ready_timeout_s,
    )


@dataclass(frozen=True)
class ReplicatedBucket:
    """A bucket replicated from `primary` to `dr`, each store as (endpoint, region, access key,
    secret key)."""

    bucket: str
    primary: tuple[str, str, str, str]
    dr: tuple[str, str, str, str]


def crr_exporter(replicated: ReplicatedBucket, log_path: Path, ready_timeout_s: float) -> Exporter:
    """The replication canary of drillbook.stack.crr_exporter on `replicated`."""
    argv = [sys.executable, "-m", "drillbook.stack.crr_exporter", "--port={port}"]
    env = {}
    for role, (endpoint, region, key, secret) in (
        ("primary", replicated.primary),
        ("dr", replicated.dr),
    ):
        argv += [f"--{role}-endpoint={endpoint}", f"--{role}-region={region}"]
        env |= {f"{role.upper()}_ACCESS_KEY": key, f"{role.upper()}_SECRET_KEY": secret}
    return Exporter(
        name=replicated.bucket,
        argv=[*argv, f"--bucket={replicated.bucket}"],
        env=env,
        log_path=log_path,
        ready_timeout_s=ready_timeout_s,
    )


class Prometheus(ConfiguredDaemon):
    ready_path = "/-/ready"

    def __init__(
        self,
        *,
        port: int,
        root: Path,
        alertmanager: str,
        services: list[ServiceTargets],
        exporters: dict[str, list[Exporter]],
        object_stores: dict[str, str],
        log_path: Path,
        ready_timeout_s: float,
    ) -> None:
        super().__init__(
            program="prometheus",
            port=port,
            root=root,
            config=prometheus_config(alertmanager, services, exporters, object_stores),
            flags=[f"--storage.tsdb.path={root / 'data'}", "--storage.tsdb.retention.time=1d"],
            log_path=log_path,
            ready_timeout_s=ready_timeout_s,
        )
        self._services = services

    def spawn(self) -> None:
        """Each region's targets file exists before Prometheus reads it, empty until the
        region's endpoint follower writes its Pods."""
        for targets in self._services:
            if not targets.path.exists():
                targets([])
        super().spawn()


def prometheus_config(
    alertmanager: str,
    services: list[ServiceTargets],
    exporters: dict[str, list[Exporter]],
    object_stores: dict[str, str],
) -> dict:
    """Scrape and evaluate every second; the service's Pods from their targets files, each
    exporter as a static target labelled with the server it watches (`instance`), and each
    object store's own metrics (region -> its address), labelled with its region."""
    interval = f"{SCRAPE_INTERVAL_S:g}s"
    service_jobs = [
        {
            "job_name": f"glancy-{targets.region}",
            "file_sd_configs": [{"files": [str(targets.path)], "refresh_interval": interval}],
        }
        for targets in services
    ]
    exporter_jobs = [
        {
            "job_name": job,
            "static_configs": [
                {"targets": [exporter.address], "labels": {"instance": exporter.name}}
                for exporter in members
            ],
        }
        for job, members in exporters.items()
    ]
    store_job = {
        "job_name": "object-storage",
        "metrics_path": "/minio/v2/metrics/cluster",
        "static_configs": [
            {"targets": [address], "labels": {"instance": region}}
            for region, address in object_stores.items()
        ],
    }
    return {
        "global": {
            "scrape_interval": interval,
            "scrape_timeout": interval,
            "evaluation_interval": f"{EVALUATION_INTERVAL_S:g}s",
        },
        "rule_files": [str(ALERT_RULES)],
        "alerting": {"alertmanagers": [{"static_configs": [{"targets": [alertmanager]}]}]},
        "scrape_configs": [*service_jobs, *exporter_jobs, store_job],
    }


class MonitoringStack:
    """Prometheus, Alertmanager, the exporters and the receiver, started and stopped as one."""

    def __init__(
        self,
        *,
        root: Path,
        logs: Path,
        services: list[ServiceTargets],
        postgres: dict[str, str],
        redis: dict[str, tuple[str, str]],
        replicated: ReplicatedBucket,
        ready_timeout_s: float,
        front_door_log: Path | None = None,
    ) -> None:
        """`postgres`: instance -> superuser DSN; `redis`: instance -> (address, password);
        `replicated`: the bucket the replication canary writes to; `front_door_log`: the
        access log of the clients' way in, when there is a front door."""
        timeout = ready_timeout_s
        self.receiver = AlertReceiver(
            port=free_port(),
            journal=root / "notifications.jsonl",
            log_path=logs / "alert-receiver.log",
            ready_timeout_s=timeout,
        )
        self.alertmanager = Alertmanager(
            port=free_port(),
            root=root / "alertmanager",
            receiver_url=self.receiver.url,
            log_path=logs / "alertmanager.log",
            ready_timeout_s=timeout,
        )
        self.exporters = {
            "postgres": [
                postgres_exporter(name, dsn, logs / f"postgres-exporter-{name}.log", timeout)
                for name, dsn in postgres.items()
            ],
            "redis": [
                redis_exporter(
                    name, address, password, logs / f"redis-exporter-{name}.log", timeout
                )
                for name, (address, password) in redis.items()
            ],
            "crr": [crr_exporter(replicated, logs / "crr-exporter.log", timeout)],
            "s3-audit": [s3_audit_exporter(logs / "s3-audit.log", timeout)],
        }
        if front_door_log is not None:
            self.exporters["front-door"] = [
                front_door_exporter(front_door_log, logs / "front-door-exporter.log", timeout)
            ]
        self.prometheus = Prometheus(
            port=free_port(),
            root=root / "prometheus",
            alertmanager=self.alertmanager.address,
            services=services,
            exporters=self.exporters,
            # the replicated bucket's two stores are the regions' object storage
            object_stores={
                region: urlsplit(endpoint).netloc
                for endpoint, region, _, _ in (replicated.primary, replicated.dr)
            },
            log_path=logs / "prometheus.log",
            ready_timeout_s=timeout,
        )

    def audit_url(self, store: str) -> str:
        """Where the object store `store` posts its audit log."""
        [audit] = self.exporters["s3-audit"]
        return f"http://{audit.address}/audit/{store}"

    @property
    def components(self) -> list[HttpComponent]:
        exporters = [exporter for members in self.exporters.values() for exporter in members]
        return [self.receiver, self.alertmanager, *exporters, self.prometheus]

    def spawn(self) -> None:
        for component in self.components:
            component.spawn()

    def wait_ready(self) -> None:
        for component in self.components:
            component.wait_ready()

    def stop(self) -> None:
        """Every component's stop is tried; the failures are raised together."""
        stops = [(type(c).__name__, c.stop) for c in reversed(self.components)]
        stop_all(stops, "monitoring")
