"""The local environment: every component a real process on 127.0.0.1 under one run folder."""

from __future__ import annotations

import json
import secrets
import stat
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from drillbook.commands import CommandLog
from drillbook.evidence.redact import redact_obj
from drillbook.faults.recover import KUBE_FOLDER
from drillbook.platform.cloud import CloudControlPlane
from drillbook.stack.cloud import (
    API_RECORD,
    API_TTL_S,
    CLUSTER,
    HOSTED_ZONE,
    MotoServer,
    replica_cluster_name,
    seed_control_plane,
    seed_replica_cluster,
)
from drillbook.stack.export_worker import ExportWorker
from drillbook.stack.front_door import FrontDoor, entry_link
from drillbook.stack.kubernetes import KubeControlPlane
from drillbook.stack.llm import LlmStandIn
from drillbook.stack.monitoring import MonitoringStack, ReplicatedBucket, ServiceTargets
from drillbook.stack.objectstore import (
    CONFIG_BUCKET,
    CONFIG_PREFIX,
    CRR_CANARY_BUCKET,
    DR_BACKUP_BUCKET,
    EXPORTS_BUCKET,
    PG_BACKUP_BUCKET,
    PG_PREFIX,
    REPLICATION_PROXY,
    RETURN_PROXY,
    SERVICE_PROXY,
    ReplicatedStorage,
)
from drillbook.stack.payments import PaymentStandIn
from drillbook.stack.ports import free_port
from drillbook.stack.postgres import PostgresPair
from drillbook.stack.process import stop_all
from drillbook.stack.redis import RedisPair
from drillbook.stack.router import Router
from drillbook.stack.service import REPO_ROOT, ServiceDeployments, service_config
from drillbook.stack.standby_region import RegionSettings, StandbyRegion, cascade_link, llm_link
from drillbook.stack.tools import find_tool
from drillbook.stack.toxiproxy_server import ToxiproxyServer, find_toxiproxy_server
from drillbook.toxiproxy import ToxiproxyClient


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
    # The zones of the plan's topology: PostgreSQL's primary and standby, and a Kubernetes
    # node each with a Deployment of the service's replicas.
    zones: tuple[str, ...] = ("az-a", "az-b")
    replicas_per_zone: int = 1
    nginx: str = "nginx"
    # None: found by drillbook.stack.tools.find_tool
    minio: str | None = None
    mc: str | None = None
    # The export chain: offsets snapshotted every few seconds (the plan: 5 min), a delivered
    # task idle this long taken as interrupted by a replay, every storage call bounded.
    export_snapshot_interval_s: float = 2.0
    export_replay_min_idle_s: float = 5.0
    export_storage_timeout_s: float = 1.0
    # Snapshots (and the stream entries they need) kept a minute, not the plan's week, and a
    # consumer idle 30 s with nothing pending removed: so a local drill trims its queue.
    export_snapshot_retention_s: float = 60.0
    export_consumer_idle_limit_s: float = 30.0
    # The warm-standby region (drillbook.stack.standby_region), and clients coming in through
    # the front door by DNS; None: the primary region alone, clients straight at its router.
    standby_region: str | None = None
    # The TTL of the service's weighted records: how long clients keep an answer.
    dns_ttl_s: int = API_TTL_S


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
        self.redis = RedisPair(
            server=settings.redis_server,
            ports=(free_port(), free_port()),
            root=self.run_dir,
            logs=logs,
            ready_timeout_s=timeout,
            commands=self.pg.commands,
        )
        self._toxiproxy_server = ToxiproxyServer(
            binary=find_toxiproxy_server(settings.toxiproxy_server),
            port=free_port(),
            log_path=logs / "toxiproxy.log",
            ready_timeout_s=timeout,
        )
        self.toxiproxy: ToxiproxyClient = self._toxiproxy_server.client
        for node in self.redis.nodes:
            node.proxy_port = free_port()
        self.storage = ReplicatedStorage(
            minio=find_tool("minio", settings.minio),
            mc=find_tool("mc", settings.mc),
            ports=(free_port(), free_port()),
            root=self.run_dir,
            logs=logs,
            ready_timeout_s=timeout,
            commands=self.pg.commands,
        )
        # the service reaches the primary region's store through SERVICE_PROXY, replication
        # reaches the DR region's through REPLICATION_PROXY and comes back through RETURN_PROXY
        self.storage.primary.proxy_port = free_port()
        self.storage.replication_port = free_port()
        self.storage.return_port = free_port()
        self.llm = LlmStandIn(port=free_port(), log_path=logs / "llm.log", ready_timeout_s=timeout)
        self.llm.proxy_port = free_port()
        payments_port = free_port()
        callback_secret = secrets.token_urlsafe(16)
        # the AWS control plane's record of the stack (RDS cluster, replication, DNS)
        self.aws = MotoServer(port=free_port(), log_path=logs / "moto.log", ready_timeout_s=timeout)
        self.kube = KubeControlPlane(
            root=self.run_dir / KUBE_FOLDER,
            logs=logs,
            zones=list(settings.zones),
            region=self.storage.primary.region,
            ready_timeout_s=timeout,
            progress=progress,
        )
        config = service_config(
            region=self.storage.primary.region,
            database_dsn=self.pg.node(settings.zones[0]).app_dsn,
            redis_url=self.redis.primary.url,
            llm={
                "url": self.llm.url,
                "timeout_s": settings.llm_timeout_s,
                "breaker": {"enabled": settings.llm_breaker},
            },
            exports=self._exports_config(),
            billing={
                "provider_url": f"http://127.0.0.1:{payments_port}",
                "callback_secret": callback_secret,
            },
        )
        router = Router(
            port=free_port(),
            run_dir=self.run_dir / "router",
            log_path=logs / "router.log",
            ready_timeout_s=timeout,
            binary=settings.nginx,
        )
        self.service = ServiceDeployments(
            kube=self.kube,
            config=config,
            config_path=self.run_dir / "service" / "config.json",
            replicas_per_zone=settings.replicas_per_zone,
            router=router,
            ready_timeout_s=timeout,
        )
        self.standby: StandbyRegion | None = None
        self.front: FrontDoor | None = None
        if settings.standby_region is not None:
            self.standby = StandbyRegion(
                run_dir=self.run_dir,
                logs=logs,
                pg=self.pg,
                llm=self.llm,
                store=self.storage.dr,
                settings=RegionSettings(
                    ready_timeout_s=timeout,
                    redis_server=settings.redis_server,
                    nginx=settings.nginx,
                    llm=config["llm"],
                    exports=config["exports"],
                    billing=config["billing"],
                ),
                commands=self.pg.commands,
                progress=progress,
                home_region=self.storage.primary.region,
                region=settings.standby_region,
            )
            self.front = FrontDoor(
                run_dir=self.run_dir / "front",
                log_path=logs / "front.log",
                ready_timeout_s=timeout,
                nginx=settings.nginx,
                progress=progress,
            )
        # the provider calls back where clients come in: the front door follows DNS to the
        # region that takes the writes
        self.payments = PaymentStandIn(
            port=payments_port,
            callback_url=f"{self.url}/billing/callback",
            secret=callback_secret,
            log_path=logs / "payments.log",
            ready_timeout_s=timeout,
        )
        self.export_worker = ExportWorker(
            config=config,
            redis_url=self.redis.primary.direct_url,
            config_path=self.run_dir / "export-worker" / "config.json",
            log_path=logs / "export-worker.log",
            ready_timeout_s=timeout,
        )
        self.monitoring = self._monitoring(logs)

    def _monitoring(self, logs: Path) -> MonitoringStack:
        """Every region's service, database and cache watched, each database and cache
        server by an exporter of its own."""
        root = self.run_dir / "monitoring"
        regions = {self.storage.primary.region: self.service}
        postgres = {zone: self.pg.node(zone).admin_dsn for zone in self.settings.zones}
        if self.standby is not None:
            regions[self.standby.region] = self.standby.service
            postgres[self.standby.region] = self.standby.database.admin_dsn
        services = []
        for region, deployments in regions.items():
            targets = ServiceTargets(region, root / "targets" / f"glancy-{region}.json")
            deployments.follower.watchers.append(targets)
            services.append(targets)
        redis = {node.name: (node.address, node.password) for node in self.redis.nodes}
        stores = [
            (store.endpoint_url, store.region, store.access_key, store.secret_key)
            for store in (self.storage.primary, self.storage.dr)
        ]
        return MonitoringStack(
            root=root,
            logs=logs,
            services=services,
            postgres=postgres,
            redis=redis,
            replicated=ReplicatedBucket(CRR_CANARY_BUCKET, *stores),
            ready_timeout_s=self.settings.ready_timeout_s,
            front_door_log=None if self.front is None else self.front.router.access_log,
        )

    @property
    def url(self) -> str:
        """Where clients send their requests: the front door, else the service's router."""
        return self.front.url if self.front is not None else self.service.url

    def _exports_config(self) -> dict:
        """The service's and the worker's path to the primary region's bucket: through proxy
        "s3", so cutting it makes object storage unreachable for them."""
        store = self.storage.primary
        return {
            "endpoint_url": store.url,
            "region": store.region,
            "access_key": store.access_key,
            "secret_key": store.secret_key,
            "bucket": EXPORTS_BUCKET,
            "timeout_s": self.settings.export_storage_timeout_s,
            "snapshot_interval_s": self.settings.export_snapshot_interval_s,
            "replay_min_idle_s": self.settings.export_replay_min_idle_s,
            "snapshot_retention_s": self.settings.export_snapshot_retention_s,
            "consumer_idle_limit_s": self.settings.export_consumer_idle_limit_s,
        }

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
            self.kube.spawn()
            self.aws.spawn()
            self._toxiproxy_server.spawn()
            self.llm.spawn()
            self.payments.spawn()
            self.monitoring.spawn()
            for store in self.storage.stores:
                store.audit_to(self.monitoring.audit_url(store.region))
            self.storage.spawn()
            if self.standby is not None:
                self.standby.spawn()
                self.front.spawn()
            self.pg.start_primary(self.settings.schema_path)
            self.redis.wait_ready()
            self.progress(
                f"redis up on {self.redis.primary.address}, replica on {self.redis.replica.address}"
            )
            self._toxiproxy_server.wait_ready()
            self._create_proxies()
            self.progress(f"toxiproxy up on {self._toxiproxy_server.url}")
            self.llm.wait_ready()
            self.progress(f"llm stand-in up on {self.llm.address}")
            self.payments.wait_ready()
            self.progress(f"payment provider stand-in up on {self.payments.address}")
            self.storage.wait_ready()
            self.storage.create_replicated_bucket(EXPORTS_BUCKET)
            self.storage.replicate_back(EXPORTS_BUCKET)
            self.storage.create_replicated_bucket(PG_BACKUP_BUCKET)
            self.storage.create_replicated_bucket(CRR_CANARY_BUCKET)
            self.storage.create_bucket(self.storage.dr, DR_BACKUP_BUCKET)
            self.storage.ship(self.pg.archive_dir, PG_BACKUP_BUCKET, PG_PREFIX)
            self.progress(
                f"object storage up on {self.storage.primary.address} "
                f"({self.storage.primary.region}), replicated to {self.storage.dr.address} "
                f"({self.storage.dr.region})"
            )
            self.kube.wait_ready()
            self.service.spawn()
            self.service.deploy()
            self._snapshot_config()
            self.export_worker.spawn()
            self.pg.start_standby()
            if self.standby is not None:
                self.standby.start()
            self.aws.wait_ready()
            seeded = seed_control_plane(
                self.aws.endpoint_url,
                primary_region=self.storage.primary.region,
                dr_region=self.storage.dr.region,
                api_addresses=self._entry_addresses(),
                api_ttl_s=self.settings.dns_ttl_s,
                zones=self.settings.zones,
                # moto loads a service's backend on its first call, seconds on a busy machine:
                # a shorter read timeout would retry a create that went through
                timeout_s=self.settings.ready_timeout_s,
            )
            self.progress(
                f"AWS control plane (moto) up on {self.aws.endpoint_url}: cluster "
                f"{seeded.cluster} ({', '.join(seeded.instances.values())}; read replica "
                f"{seeded.replica_cluster}), bucket "
                f"{seeded.bucket} replicated, record {seeded.api_record}"
            )
            if self.front is not None:
                self._open_front_door()
            self.service.wait_ready()
            if self.standby is not None:
                self.standby.wait_ready()
            self.export_worker.wait_ready()
            self.monitoring.wait_ready()
            self.progress(
                f"monitoring up: Prometheus on {self.monitoring.prometheus.address}, "
                f"Alertmanager on {self.monitoring.alertmanager.address}"
            )
            self.redis.wait_replica_synced()
            self.progress(
                f"reference service up on {self.service.url} ({self.service.expected_replicas} "
                f"Pods of {len(self.settings.zones)} Deployments behind nginx)"
            )
        except BaseException:
            self.stop()
            raise
        self.progress(f"local stack up in {time.monotonic() - started:.1f} s")

    def _snapshot_config(self) -> None:
        """Plan 3.1's `configctl snapshot create`: the service's configuration, secrets
        redacted, as an object of the configuration bucket (taken once, as the stack starts)."""
        self.storage.create_bucket(self.storage.primary, CONFIG_BUCKET)
        key = f"{CONFIG_PREFIX}/{time.strftime('%Y%m%d%H%M', time.gmtime())}.json"
        body = json.dumps(redact_obj(self.service.config), indent=2, sort_keys=True)
        self.storage.put_primary(CONFIG_BUCKET, key, body.encode())
        self.progress(f"configuration snapshot in s3://{CONFIG_BUCKET}/{key}")

    def region_links(self) -> dict[str, list[str]]:
        """Region -> the links that connect it to its clients and to the other region: its
        entry, the replication streams between the regions (database and object storage), and
        the clients' own paths to its databases (the drills' writer and SQL probes)."""
        if self.standby is None:
            return {}
        standby = self.standby.region
        between = [
            cascade_link(standby),
            self.standby.return_link,
            REPLICATION_PROXY,
            RETURN_PROXY,
        ]
        primary_dbs = [PostgresPair.proxy_name(zone) for zone in self.settings.zones]
        return {
            self.storage.primary.region: [
                entry_link(self.storage.primary.region),
                *between,
                *primary_dbs,
            ],
            standby: [
                entry_link(standby),
                *between,
                llm_link(standby),
                PostgresPair.proxy_name(standby),
            ],
        }

    def _entry_addresses(self) -> dict[str, str]:
        """Region -> the address its weighted record names: its entry's with a front door,
        else the primary region's router's."""
        primary = self.storage.primary.region
        if self.standby is None:
            return {primary: "127.0.0.1"}
        return {primary: self.kube.entry_ip, self.standby.region: self.standby.kube.entry_ip}

    def rejoin_replica_cluster(self) -> dict:
        """moto's record of the standby region's database back in step with it once it is a
        standby again: its read replica cluster, if a cutover promoted it, seeded anew."""
        timeout_s = self.settings.ready_timeout_s  # moto loads the RDS backend on first use
        primary = CloudControlPlane(
            self.storage.primary.region, self.aws.endpoint_url, timeout_s=timeout_s
        )
        dr = CloudControlPlane(self.storage.dr.region, self.aws.endpoint_url, timeout_s=timeout_s)
        try:
            replica = replica_cluster_name(CLUSTER, dr.region)
            if dr.replica_state(replica)["source"] is None:
                seed_replica_cluster(primary, dr, CLUSTER)
            return dr.replica_state(replica)
        finally:
            primary.close()
            dr.close()

    def _open_front_door(self) -> None:
        """Each region's entry in front of its router, and the front router following the
        API's weighted records."""
        routers = {
            self.storage.primary.region: self.service.router.address,
            self.standby.region: self.standby.service.router.address,
        }
        addresses = self._entry_addresses()
        entries = {region: (addresses[region], routers[region]) for region in routers}
        self.front.open_entries(self.toxiproxy, entries)
        dns = CloudControlPlane(self.storage.primary.region, self.aws.endpoint_url)
        self.front.follow(dns, HOSTED_ZONE, API_RECORD)
        self.front.wait_ready()
        self.progress(f"front door on {self.front.url}: {API_RECORD} by its weighted records")

    def _create_proxies(self) -> None:
        self.pg.attach_toxiproxy(self.toxiproxy)
        redis = [(node.name, node) for node in self.redis.nodes]
        for name, component in (*redis, ("llm", self.llm)):
            listen = f"127.0.0.1:{component.proxy_port}"
            self.toxiproxy.create_proxy(name, listen, component.address)
        storage = self.storage
        self.toxiproxy.create_proxy(
            SERVICE_PROXY, f"127.0.0.1:{storage.primary.proxy_port}", storage.primary.address
        )
        self.toxiproxy.create_proxy(
            REPLICATION_PROXY, f"127.0.0.1:{storage.replication_port}", storage.dr.address
        )
        self.toxiproxy.create_proxy(
            RETURN_PROXY, f"127.0.0.1:{storage.return_port}", storage.primary.address
        )
        if self.standby is not None:
            self.standby.create_proxies(self.toxiproxy)

    def stop(self) -> None:
        """Stop everything in reverse order; already-dead components are fine.

        A component that cannot be stopped does not keep the others running: every stop is
        tried, then the failures are raised together.
        """
        regional = [("front door", self.front.stop)] if self.front is not None else []
        if self.standby is not None:
            regional.append((f"region {self.standby.region}", self.standby.stop))
        stops = [
            ("monitoring", self.monitoring.stop),
            *regional,
            ("reference service", self.service.stop),
            ("kubernetes", self.kube.stop),
            ("aws control plane", self.aws.stop),
            ("export worker", self.export_worker.stop),
            ("llm stand-in", self.llm.stop),
            ("payment stand-in", self.payments.stop),
            ("object storage", self.storage.stop),
            ("toxiproxy", self._toxiproxy_server.stop),
            ("redis", self.redis.stop),
            ("postgres", self.pg.stop),
        ]
        stop_all(stops, f"local stack in {self.run_dir}")
        self.progress("local stack stopped")

    @property
    def commands(self) -> CommandLog:
        """Every command the environment ran (initdb, pg_basebackup, kill -9, promote, ...);
        PostgreSQL and Redis share this log."""
        return self.pg.commands

    def pids(self) -> dict[str, int]:
        """Pids of the running components (PostgreSQL: postmasters)."""
        found = {
            **self.service.pids(),
            **self.kube.pids(),
            "moto server": self.aws.pid(),
            "export worker": self.export_worker.pid(),
            "toxiproxy": self._toxiproxy_server.pid(),
            **{node.name: node.pid() for node in self.redis.nodes},
            "llm stand-in": self.llm.pid(),
            "payment stand-in": self.payments.pid(),
            **{f"object store {store.region}": store.pid() for store in self.storage.stores},
            "s3 shipper": self.storage.shipper.pid if self.storage.shipper else None,
        }
        for node in [*self.pg.nodes.values(), *self.pg.restored]:
            found[f"postgres {node.name}"] = node.pid()
        if self.front is not None:
            found["front door"] = self.front.router.pid()
        if self.standby is not None:
            found |= {
                f"{self.standby.region} {name}": pid for name, pid in self.standby.pids().items()
            }
        return {name: pid for name, pid in found.items() if pid is not None}

    def endpoints(self) -> dict[str, str]:
        """Names to URLs/DSNs, passwords included (evidence code redacts)."""
        endpoints = {}
        for name, node in self.pg.nodes.items():
            endpoints[f"postgres {name} admin"] = node.admin_dsn
            endpoints[f"postgres {name} app via proxy"] = node.app_dsn
        for node in self.redis.nodes:
            endpoints[f"{node.name} direct"] = node.direct_url
            endpoints[f"{node.name} via proxy"] = node.url
        endpoints["toxiproxy api"] = self._toxiproxy_server.url
        endpoints["llm via proxy"] = self.llm.url
        endpoints["payment provider"] = self.payments.url
        for store in self.storage.stores:
            endpoints[f"s3 {store.region}"] = store.endpoint_url
        endpoints[f"s3 {self.storage.primary.region} via proxy"] = self.storage.primary.url
        endpoints["reference service"] = self.service.url
        endpoints["kubernetes api"] = self.kube.server
        if self.standby is not None:
            region = self.standby.region
            endpoints[f"reference service {region}"] = self.standby.service.url
            endpoints[f"kubernetes api {region}"] = self.standby.kube.server
            endpoints[f"{self.standby.redis.name} via proxy"] = self.standby.redis.url
        if self.front is not None:
            endpoints["front door"] = self.front.url
        endpoints["aws api (moto)"] = self.aws.endpoint_url
        return endpoints
