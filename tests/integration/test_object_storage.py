"""Object storage in two regions with real MinIO servers and real bucket replication through a
Toxiproxy proxy: objects and their versions arrive in the DR region, a cut stops them, and the
restored link delivers the backlog."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from drillbook.commands import CommandLog
from drillbook.stack.objectstore import REPLICATION_PROXY, ReplicatedStorage
from drillbook.stack.ports import free_port
from drillbook.stack.tools import find_tool
from drillbook.stack.toxiproxy_server import ToxiproxyServer, find_toxiproxy_server
from drillbook.toxiproxy import ToxiproxyClient
from drillbook.waits import wait_until

pytestmark = pytest.mark.integration
BUCKET = "drill-bucket"


@pytest.fixture(scope="module")
def linked(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[ReplicatedStorage, ToxiproxyClient]]:
    root = tmp_path_factory.mktemp("storage")
    toxiproxy = ToxiproxyServer(
        binary=find_toxiproxy_server(),
        port=free_port(),
        log_path=root / "toxiproxy.log",
        ready_timeout_s=30,
    )
    stores = ReplicatedStorage(
        minio=find_tool("minio"),
        mc=find_tool("mc"),
        ports=(free_port(), free_port()),
        root=root,
        logs=root / "logs",
        ready_timeout_s=30,
        commands=CommandLog(),
    )
    stores.replication_port = free_port()
    toxiproxy.spawn()
    stores.spawn()
    try:
        toxiproxy.wait_ready()
        listen = f"127.0.0.1:{stores.replication_port}"
        toxiproxy.client.create_proxy(REPLICATION_PROXY, listen, stores.dr.address)
        stores.wait_ready()
        stores.create_replicated_bucket(BUCKET)
        yield stores, toxiproxy.client
    finally:
        stores.stop()
        toxiproxy.stop()


def head(client, key: str) -> dict | None:
    try:
        return client.head_object(Bucket=BUCKET, Key=key)
    except ClientError:
        return None


def arrived(storage: ReplicatedStorage, key: str, version: str, timeout_s: float) -> dict:
    """The DR region's head of `key` once it serves `version` (an older one may come first)."""
    dr = storage.dr.client()
    waited = wait_until(
        f"{key} version {version} in the DR region",
        lambda: ((h := head(dr, key)) is not None and h["VersionId"] == version, h),
        timeout_s,
        progress=lambda _: None,
    )
    return waited.last


def source_status(storage: ReplicatedStorage, key: str, timeout_s: float) -> str:
    """The primary's replication status of `key` once it is no longer PENDING."""
    primary = storage.primary.client()
    waited = wait_until(
        f"{key} replication status settled",
        lambda: ((s := head(primary, key)["ReplicationStatus"]) != "PENDING", s),
        timeout_s,
        progress=lambda _: None,
    )
    return waited.last


def test_objects_and_versions_replicate_with_their_status(linked):
    storage, _ = linked
    primary = storage.primary.client()
    first = primary.put_object(Bucket=BUCKET, Key="a.json", Body=b"one")["VersionId"]
    second = primary.put_object(Bucket=BUCKET, Key="a.json", Body=b"two")["VersionId"]
    replica = arrived(storage, "a.json", second, 10)  # MinIO keeps version ids across regions
    assert replica["ReplicationStatus"] == "REPLICA"
    assert source_status(storage, "a.json", 10) == "COMPLETED"
    dr = storage.dr.client()
    old = dr.get_object(Bucket=BUCKET, Key="a.json", VersionId=first)["Body"].read()
    assert old == b"one"
    assert storage.dr.client().get_bucket_versioning(Bucket=BUCKET)["Status"] == "Enabled"
    recorded = "\n".join(record.command for record in storage.commands.since(0))
    assert "mc" in recorded and "replicate add" in recorded


def test_a_cut_link_holds_objects_back_and_the_restore_delivers_them(linked):
    storage, toxiproxy = linked
    primary = storage.primary.client()
    toxiproxy.update_proxy(REPLICATION_PROXY, enabled=False)
    try:
        primary.put_object(Bucket=BUCKET, Key="held.json", Body=b"held")
        time.sleep(2)
        assert head(storage.dr.client(), "held.json") is None
        status = primary.head_object(Bucket=BUCKET, Key="held.json")["ReplicationStatus"]
        assert status in ("PENDING", "FAILED")
    finally:
        toxiproxy.update_proxy(REPLICATION_PROXY, enabled=True)
    held = primary.head_object(Bucket=BUCKET, Key="held.json")["VersionId"]
    assert arrived(storage, "held.json", held, 60)["ReplicationStatus"] == "REPLICA"


def test_tools_missing_are_named_with_every_place_looked_at(monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    monkeypatch.setattr("drillbook.stack.tools.REPO_ROOT", Path("/nonexistent"))
    with pytest.raises(FileNotFoundError, match=r"no executable minio found .*DRILLBOOK_MINIO"):
        find_tool("minio")
