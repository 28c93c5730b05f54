"""The warm-standby region of the plan's topology (ap-northeast-1).

The standby region runs its own Kubernetes (context `ap-northeast-1`, as runbook 5.2's
`kubectl --context=ap-northeast-1` lines expect) with the service's replicas behind a router
of its own; a PostgreSQL standby cascading from the primary region's standby across the
region link; a Redis of its own, which a cutover rebuilds; the exports bucket's replicated
copy (the DR object store), which it replicates back once it writes to it; an export worker
of its own, which runs only while the region takes the writes; and the LLM through a link of
its own. Until a cutover its replicas read from that standby, so they serve what a read-only
database allows.

Links between regions are Toxiproxy proxies, so a region cut is a real network fault: the
clients' way into each region (drillbook.stack.front_door), and
- `pg-cascade-<region>`: the standby region's replication stream;
- `pg-cascade-<primary region>`: the stream back, which a failback rebuilds the primary
  region's databases from;
- `llm-<region>`: the standby region's way to the LLM.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from drillbook.commands import CommandLog
from drillbook.stack.export_worker import ExportWorker
from drillbook.stack.kubernetes import KubeControlPlane
from drillbook.stack.llm import LlmStandIn
from drillbook.stack.objectstore import EXPORTS_BUCKET, ObjectStore
from drillbook.stack.ports import free_port
from drillbook.stack.postgres import PostgresPair
from drillbook.stack.process import stop_all
from drillbook.stack.redis import RedisNode
from drillbook.stack.router import Router
from drillbook.stack.service import NAME, NAMESPACE, ServiceDeployments, service_config
from drillbook.toxiproxy import ToxiproxyClient

REGION = "ap-northeast-1"
ZONE = "apne1-az1"
# Runbook 5.2's pre-check asks for at least 2 Ready replicas in the standby region.
REPLICAS = 2


def cascade_link(region: str) -> str:
    return f"pg-cascade-{region}"


def llm_link(region: str) -> str:
    return f"llm-{region}"


@dataclass(frozen=True)
class RegionSettings:
    ready_timeout_s: float
    redis_server: str
    nginx: str
    llm: dict  # the service's llm settings but the url
    exports: dict  # the service's exports settings but the store's
    billing: dict  # the service's billing settings: one payment provider for both regions


class StandbyRegion:
    def __init__(
        self,
        *,
        run_dir: Path,
        logs: Path,
        pg: PostgresPair,
        llm: LlmStandIn,
        store: ObjectStore,
        settings: RegionSettings,
        commands: CommandLog,
        progress: Callable[[str], None] = print,
        home_region: str,
        region: str = REGION,
    ) -> None:
        self.region = region
        # the primary region, which a failback rebuilds from this one across `return_link`
        self.home_region = home_region
        self.return_port = free_port()
        self.pg = pg
        self.progress = progress
        logs = logs / region
        timeout = settings.ready_timeout_s
        self.kube = KubeControlPlane(
            root=run_dir / f"kube-{region}",
            logs=logs,
            zones=[ZONE],
            region=region,
            ready_timeout_s=timeout,
            progress=progress,
            context=region,
        )
        self.database = pg.add_node(region)
        self.cascade_port = free_port()
        self.redis = RedisNode(
            f"redis-{region}",
            server=settings.redis_server,
            port=free_port(),
            data_dir=run_dir / f"redis-{region}",
            log_path=logs / "redis.log",
            ready_timeout_s=timeout,
            password=secrets.token_urlsafe(16),
            commands=commands,
        )
        self.redis.proxy_port = free_port()
        self.llm = llm
        self.llm_port = free_port()
        config = service_config(
            region=region,
            database_dsn=self.database.app_dsn,
            redis_url=self.redis.url,
            llm={**settings.llm, "url": f"http://127.0.0.1:{self.llm_port}"},
            exports={
                **settings.exports,
                "endpoint_url": store.endpoint_url,
                "region": store.region,
                "access_key": store.access_key,
                "secret_key": store.secret_key,
                "bucket": EXPORTS_BUCKET,
            },
            billing=settings.billing,
        )
        self.export_worker = ExportWorker(
            config=config,
            redis_url=self.redis.direct_url,
            config_path=run_dir / f"export-worker-{region}" / "config.json",
            log_path=logs / "export-worker.log",
            ready_timeout_s=timeout,
        )
        router = Router(
            port=free_port(),
            run_dir=run_dir / f"router-{region}",
            log_path=logs / "router.log",
            ready_timeout_s=timeout,
            binary=settings.nginx,
        )
        self.service = ServiceDeployments(
            kube=self.kube,
            config=config,
            config_path=run_dir / f"service-{region}" / "config.json",
            replicas_per_zone=REPLICAS,
            router=router,
            ready_timeout_s=timeout,
        )

    def spawn(self) -> None:
        """What needs nothing else of the stack: its cluster and its Redis."""
        self.redis.data_dir.mkdir(parents=True, exist_ok=True)
        self.redis.spawn()
        self.kube.spawn()

    def create_proxies(self, toxiproxy: ToxiproxyClient) -> None:
        toxiproxy.create_proxy(
            cascade_link(self.region),
            f"127.0.0.1:{self.cascade_port}",
            self.pg.node("az-b").address,
        )
        toxiproxy.create_proxy(
            self.return_link, f"127.0.0.1:{self.return_port}", self.database.address
        )
        redis = self.redis
        toxiproxy.create_proxy(redis.name, f"127.0.0.1:{redis.proxy_port}", redis.address)
        toxiproxy.create_proxy(
            llm_link(self.region), f"127.0.0.1:{self.llm_port}", self.llm.address
        )

    def start(self) -> None:
        """Once the primary region's standby streams and the proxies exist: the cascading
        standby, then the service's replicas."""
        self.redis.wait_ready()
        self.reseed_database()
        self.kube.wait_ready()
        self.service.spawn()
        self.service.deploy()

    def take_over(self, rollout_timeout_s: float) -> dict:
        """Runbook 5.2 step 1, the warm-standby playbook: its database promoted, its Redis
        rebuilt from nothing (the service refills it), its replicas restarted so they
        connect afresh, its export worker started on the queue of that Redis; what was
        done."""
        self.database.promote()
        self.rebuild_cache()
        rollouts = self._restart_service(rollout_timeout_s)
        self.export_worker.start()
        return {
            "region": self.region,
            "database": self.database.name,
            "rollouts": rollouts,
            "export_worker": self.export_worker.pid(),
        }

    def stand_by(self, rollout_timeout_s: float) -> dict:
        """Back to a warm standby: its database re-seeded from az-b, what was written to it
        since the takeover discarded, to cascade across the region link (streaming once that
        link is up: a drill's teardown reverts the takeover before the region's cut), its
        Redis emptied, its replicas restarted, its export worker stopped. A drill that needs it
        current waits for it (the condition "the database in <region> is a streaming
        standby")."""
        self.export_worker.stop()
        self.pg.start_cascade(self.database, self.pg.node("az-b"), self.cascade_port, wait=False)
        self.rebuild_cache()
        return {
            "region": self.region,
            "source": "az-b",
            "rollouts": self._restart_service(rollout_timeout_s),
        }

    @property
    def return_link(self) -> str:
        """The replication stream back to the primary region, once this one took over."""
        return cascade_link(self.home_region)

    def reseed_database(self, *, wait: bool = True) -> None:
        """Its database a standby again, re-seeded from az-b to stream from it (`wait`: until
        it does): after the primary region's pair is rebuilt, az-b no longer holds the WAL the
        region had reached."""
        self.pg.start_cascade(self.database, self.pg.node("az-b"), self.cascade_port, wait=wait)
        self.progress(
            f"postgres {self.region} {'streaming' if wait else 're-seeded to stream'} from az-b "
            f"across {cascade_link(self.region)}"
        )

    def rebuild_cache(self) -> None:
        with self.redis.client() as cache:
            cache.flushall()
        self.redis.commands.add(f"FLUSHALL  # {self.redis.name}", "rebuilt from nothing")

    def _restart_service(self, timeout_s: float) -> list[dict]:
        cluster = self.kube.cluster
        return cluster.restart_rollouts(
            NAMESPACE, cluster.deployments_of(NAMESPACE, NAME), timeout_s
        )

    def wait_ready(self) -> None:
        self.service.wait_ready()
        self.progress(
            f"{self.region}: {self.service.expected_replicas} replicas behind "
            f"{self.service.url} (kubernetes context {self.kube.context})"
        )

    def pids(self) -> dict[str, int]:
        pids = {**self.service.pids(), **self.kube.pids(), "redis": self.redis.pid()}
        if self.export_worker.running:
            pids["export worker"] = self.export_worker.pid()
        return pids

    def stop(self) -> None:
        """Stop its export worker, service, cluster and Redis (its PostgreSQL goes with the
        stack's); every stop is tried, then the failures are raised together."""
        stops = [
            ("export worker", self.export_worker.stop),
            ("service", self.service.stop),
            ("kubernetes", self.kube.stop),
            ("redis", self.redis.stop),
        ]
        stop_all(stops, f"region {self.region}")
