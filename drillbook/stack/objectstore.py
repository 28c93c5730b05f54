"""S3-compatible object storage for the local stack: one MinIO server per region, versioned
buckets, and MinIO's own bucket replication (CRR) from the primary region to the DR region; the
exports bucket is replicated back too (the plan's 版本化 + CRR 回切), so what the DR region's
service writes after a cutover reaches the primary region before it takes the traffic back.

The replication traffic goes through Toxiproxy proxies, so a drill can block or slow CRR at the
network the way a broken inter-region link would.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import httpx
from botocore.client import BaseClient

from drillbook.commands import CommandLog
from drillbook.objects import s3_client
from drillbook.stack.process import LocalProcess, ManagedProcess, run_command

PRIMARY_REGION = "ap-southeast-1"
DR_REGION = "ap-northeast-1"
EXPORTS_BUCKET = "glancy-exports"
# The monitoring's replication canary writes here (drillbook.stack.crr_exporter).
CRR_CANARY_BUCKET = "glancy-crr-canary"
# Plan 3.1: PostgreSQL's backups and WAL land in s3://glancy-dr-ap-sg/pg/, replicated to the DR
# region; runbook 5.2 step 5 copies pg/last-lsn.txt from there into the DR region's own bucket.
PG_BACKUP_BUCKET = "glancy-dr-ap-sg"
DR_BACKUP_BUCKET = "glancy-dr-apne1"
PG_PREFIX = "pg"
# Plan 3.1: configuration snapshots (`configctl snapshot create`, every 4 h) land here.
CONFIG_BUCKET, CONFIG_PREFIX = "glancy-dr-shared", "config"
# the Toxiproxy proxies: the service's path to the primary store, replication's to the DR one,
# and the replication back to the primary region's
SERVICE_PROXY = "s3"
REPLICATION_PROXY = "s3-crr"
RETURN_PROXY = f"s3-crr-{PRIMARY_REGION}"
# what the plan's replication rule covers: deletions too, and objects written before it existed
REPLICATE = "delete,delete-marker,existing-objects"
# the way back carries what the DR region writes itself: a replica (an object that came from
# the primary region) is never replicated back, so the two rules do not loop
REPLICATE_BACK = "delete,delete-marker"
# With rules both ways MinIO would answer a read of an object it lacks by fetching it from the
# other region ("proxying"): a region's store must answer with what it holds, or a drill would
# see an object "replicated" that never was.
NO_PROXY = "--disable-proxy"


class ObjectStore(LocalProcess):
    """One region's object store: a single-drive MinIO server with its own credentials."""

    def __init__(
        self,
        region: str,
        *,
        binary: str,
        port: int,
        data_dir: Path,
        log_path: Path,
        ready_timeout_s: float,
    ) -> None:
        self.region = region
        self.port = port
        self.data_dir = data_dir
        self.ready_timeout_s = ready_timeout_s
        self.access_key = f"drill-{region}"
        self.secret_key = secrets.token_urlsafe(24)
        self.proxy_port: int | None = None
        self._client: BaseClient | None = None
        env = {
            **os.environ,
            "MINIO_ROOT_USER": self.access_key,
            "MINIO_ROOT_PASSWORD": self.secret_key,
            "MINIO_SITE_REGION": region,
            "MINIO_BROWSER": "off",
            "MINIO_UPDATE": "off",
            # Replications that failed while the link was down are retried by the scanner once
            # MinIO's short retry queue gives up; at its default speed the scanner took minutes
            # to reach them here, at "fastest" a 70-object backlog drains in about 15 s.
            "MINIO_SCANNER_SPEED": "fastest",
            # Prometheus reads the store's request counts (the download failures of section
            # 2) without a bearer token: the store listens on 127.0.0.1 only
            "MINIO_PROMETHEUS_AUTH_TYPE": "public",
        }
        argv = [binary, "server", str(data_dir), "--address", self.address, "--quiet"]
        self._process = ManagedProcess(f"object store {region}", argv, log_path, env=env)

    @property
    def endpoint_url(self) -> str:
        return f"http://{self.address}"

    @property
    def url(self) -> str:
        """Through the store's Toxiproxy proxy (direct if it has none)."""
        return f"http://127.0.0.1:{self.proxy_port or self.port}"

    def client(self) -> BaseClient:
        """The harness's direct client, shared (boto3 clients are thread-safe): the harness
        checks the store itself, not the network in front of it."""
        if self._client is None:
            self._client = self.new_client()
        return self._client

    def new_client(self) -> BaseClient:
        """A client of its own, for a worker thread that closes it when done."""
        return s3_client(self.endpoint_url, self.region, self.access_key, self.secret_key)

    def audit_to(self, url: str) -> None:
        """Post the audit log of every request to `url` (MinIO's audit webhook), from the next
        start on."""
        env = self._process.env or {}
        env |= {
            "MINIO_AUDIT_WEBHOOK_ENABLE_DRILLBOOK": "on",
            "MINIO_AUDIT_WEBHOOK_ENDPOINT_DRILLBOOK": url,
        }
        self._process.env = env

    def spawn(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._process.start()

    def wait_ready(self) -> None:
        def live() -> None:
            httpx.get(f"{self.endpoint_url}/minio/health/live", timeout=1.0).raise_for_status()

        self._process.wait_ready(live, self.ready_timeout_s)

    def stop(self) -> None:
        super().stop()
        if self._client is not None:
            self._client.close()
            self._client = None

    def mc_host(self, via: int | None = None) -> str:
        """The store as an `mc` host URL, credentials included (through port `via` if given)."""
        return f"http://{self.access_key}:{self.secret_key}@127.0.0.1:{via or self.port}"


class ReplicatedStorage:
    """The primary region's store, the DR region's, and replication between them."""

    def __init__(
        self,
        *,
        minio: str,
        mc: str,
        ports: tuple[int, int],
        root: Path,
        logs: Path,
        ready_timeout_s: float,
        commands: CommandLog,
    ) -> None:
        self.primary, self.dr = (
            ObjectStore(
                region,
                binary=minio,
                port=port,
                data_dir=root / "s3" / region,
                log_path=logs / f"s3-{region}.log",
                ready_timeout_s=ready_timeout_s,
            )
            for region, port in zip((PRIMARY_REGION, DR_REGION), ports, strict=True)
        )
        self.mc = mc
        self.config_dir = root / "mc"
        self.commands = commands
        self.timeout_s = ready_timeout_s
        self.logs = logs
        self.shipper: ManagedProcess | None = None
        # the Toxiproxy ports in front of the DR store and of the primary one that replication
        # goes through
        self.replication_port: int | None = None
        self.return_port: int | None = None

    @property
    def stores(self) -> tuple[ObjectStore, ObjectStore]:
        return self.primary, self.dr

    def spawn(self) -> None:
        for store in self.stores:
            store.spawn()

    def wait_ready(self) -> None:
        for store in self.stores:
            store.wait_ready()

    def stop(self) -> None:
        if self.shipper is not None:
            self.shipper.stop(timeout_s=self.timeout_s)
        for store in self.stores:
            store.stop()

    def create_replicated_bucket(self, bucket: str) -> None:
        """A versioned bucket in both regions, replicated primary → DR through the proxy."""
        for store in self.stores:
            self.create_bucket(store, bucket)
        self._replicate("primary", bucket, self.dr.mc_host(via=self.replication_port), REPLICATE)

    def replicate_back(self, bucket: str) -> None:
        """`bucket`'s replication DR → primary too, through the proxy of the way back."""
        self._replicate("dr", bucket, self.primary.mc_host(via=self.return_port), REPLICATE_BACK)

    def _replicate(self, alias: str, bucket: str, remote: str, what: str) -> None:
        """`mc replicate add` of the `alias` store's `bucket` to the same bucket at `remote`."""
        self._mc("replicate", "add", f"{alias}/{bucket}", "--remote-bucket", f"{remote}/{bucket}",
                 "--replicate", what, NO_PROXY)  # fmt: skip

    def create_bucket(self, store: ObjectStore, bucket: str) -> None:
        """A versioned bucket in one region's store."""
        client = store.client()
        client.create_bucket(
            Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": store.region}
        )
        client.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
        self.commands.add(
            f"aws s3api create-bucket --bucket {bucket} --region {store.region} && "
            f"aws s3api put-bucket-versioning --bucket {bucket} "
            "--versioning-configuration Status=Enabled",
            f"{store.region}: bucket {bucket} created, versioning Enabled",
        )

    def ship(self, folder: Path, bucket: str, prefix: str) -> None:
        """Keep `folder` synced to the primary store's `bucket/prefix/` as files appear
        (`mc mirror --watch`, the plan's `aws s3 sync` of backups); partial files (`*.part`,
        renamed once complete) are left out."""
        target = f"primary/{bucket}/{prefix}"
        argv = [self.mc, "--config-dir", str(self.config_dir), "--no-color", "mirror", "--watch",
                "--overwrite", "--exclude", "*.part", str(folder), target]  # fmt: skip
        env = {**os.environ, "MC_HOST_primary": self.primary.mc_host()}
        self.shipper = ManagedProcess(
            f"shipper of {folder.name}", argv, self.logs / "s3-shipper.log", env=env
        )
        self.shipper.start()
        self.commands.add(
            f"mc mirror --watch --overwrite --exclude '*.part' {folder} {target}",
            f"{self.primary.region}: {folder} shipped to s3://{bucket}/{prefix}/",
        )

    def put_primary(self, bucket: str, key: str, body: bytes) -> None:
        """One object written in the primary region's store."""
        self.primary.client().put_object(Bucket=bucket, Key=key, Body=body)

    def _mc(self, *args: str) -> str:
        # credentials reach mc in MC_HOST_<alias>, never on a command line that gets recorded
        env = {
            **os.environ,
            "MC_HOST_primary": self.primary.mc_host(),
            "MC_HOST_dr": self.dr.mc_host(),
        }
        argv = [self.mc, "--config-dir", str(self.config_dir), "--no-color", *args]
        return run_command(argv, timeout_s=self.timeout_s, log=self.commands, env=env)
