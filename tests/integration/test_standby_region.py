"""The two-region stack: the warm standby in ap-northeast-1 with its own Kubernetes, its
PostgreSQL cascading across the region link, and clients coming in through the front door by
the API's weighted records."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import pytest

from drillbook.checks.replicas import ready_replicas
from drillbook.checks.weighted_routing import weighted_routing
from drillbook.environments.cluster_platform import ClusterPlatform
from drillbook.environments.local import stack_regions
from drillbook.environments.local.cloud import LocalCloud
from drillbook.environments.local.heal import heal_database
from drillbook.environments.local.service import LocalService
from drillbook.stack import LocalSettings, LocalStack
from drillbook.stack.cloud import API_RECORD, API_TTL_S
from drillbook.stack.front_door import entry_link
from drillbook.stack.standby_region import REGION, cascade_link
from drillbook.waits import wait_until
from steps.region import WAL_RECEIVER

pytestmark = [pytest.mark.integration, pytest.mark.timeout(240)]

PRIMARY = "ap-southeast-1"


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    run_dir = Path(tempfile.mkdtemp(prefix="drillbook-run-"))
    run_dir.chmod(0o755)
    local = LocalStack(LocalSettings(standby_region=REGION), run_dir, progress=lambda _: None)
    local.start()
    try:
        yield local
    finally:
        local.stop()
        shutil.rmtree(run_dir, ignore_errors=True)


def region_answering(stack: LocalStack) -> str:
    return httpx.get(f"{stack.url}/healthz", timeout=2.0).json()["region"]


def test_the_standby_region_runs_its_replicas_on_a_cluster_of_its_own(stack):
    """As runbook 5.2's pre-check reads it: `kubectl --context=ap-northeast-1 get deploy`."""
    kubeconfigs = f"{stack.kube.kubeconfig}:{stack.standby.kube.kubeconfig}"
    done = subprocess.run(
        [stack.kube.kubectl, f"--context={REGION}", "get", "deploy", "-n", "prod", "-o", "name"],
        env={**os.environ, "KUBECONFIG": kubeconfigs},
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["deployment.apps/lookup-bff-apne1-az1"]
    assert len(stack.standby.service.router.backends) == 2
    platform = ClusterPlatform(lambda: stack.kube.cluster, 30.0, regions=stack_regions(stack))
    assert ready_replicas("lookup-bff", REGION, platform.app_pods("lookup-bff", REGION), 2).passed
    assert len(platform.app_pods("lookup-bff", PRIMARY)) == 2  # one per zone of az-a, az-b
    for url in stack.standby.service.admin_urls():
        assert httpx.get(f"{url}/healthz", timeout=2.0).json()["region"] == REGION


def test_its_database_cascades_from_az_b_across_the_region_link(stack):
    standby = stack.standby.database
    assert standby.is_in_recovery()
    rows = stack.pg.node("az-b").query(
        "SELECT state FROM pg_stat_replication WHERE application_name = %s", [REGION]
    )
    assert rows == [("streaming",)]
    link = stack.toxiproxy.proxy(cascade_link(REGION))
    assert link.upstream == stack.pg.node("az-b").address


def test_the_weighted_records_name_each_regions_entry_and_the_primary_takes_the_traffic(stack):
    cloud = LocalCloud(stack)
    records = cloud.weighted_records(API_RECORD)
    assert weighted_routing(API_RECORD, records).passed
    assert {r["set_id"]: r["value"] for r in records} == {
        PRIMARY: stack.kube.entry_ip,
        REGION: stack.standby.kube.entry_ip,
    }
    entry = stack.toxiproxy.proxy(entry_link(REGION))
    assert entry.listen == f"{stack.standby.kube.entry_ip}:{stack.front.entry_port}"
    assert {region_answering(stack) for _ in range(10)} == {PRIMARY}


def test_clients_follow_the_weight_to_the_standby_region_within_the_ttl(stack):
    cloud = LocalCloud(stack)
    move = cloud.move_weight(API_RECORD, REGION, 100)
    moved = move.run()
    try:
        assert moved["after"] == {PRIMARY: 0, REGION: 100}
        waited = wait_until(
            "clients answered by the standby region",
            lambda: (region_answering(stack) == REGION, None),
            API_TTL_S + 5,
            progress=lambda _: None,
        )
        assert waited.elapsed_s <= API_TTL_S + 1.0
    finally:
        move.revert()
    time.sleep(API_TTL_S + 1.0)
    assert region_answering(stack) == PRIMARY


def test_a_takeover_is_reverted_to_a_warm_standby_even_while_the_region_link_is_cut(stack):
    """As a drill's teardown runs it: the takeover's revert before the cut's."""
    link = cascade_link(REGION)
    stack.toxiproxy.update_proxy(link, enabled=False)
    takeover = LocalService(stack, None, None).take_over(REGION)
    try:
        done = takeover.run()
        assert done["database"] == REGION and len(done["rollouts"]) == 1
        assert not stack.standby.database.is_in_recovery()
        with stack.standby.redis.client() as cache:
            # rebuilt from nothing: it holds only the export queue its worker has joined since
            assert {key.decode() for key in cache.scan_iter()} <= {"glancy:exports"}
        assert stack.standby.export_worker.running
        takeover.revert()
        assert stack.standby.database.is_in_recovery()
        assert not stack.standby.export_worker.running
    finally:
        stack.toxiproxy.reset_proxy(link)
    wait_until(
        "the standby region's WAL receiver streaming again",
        lambda: (
            stack.standby.database.query(WAL_RECEIVER)[0][1] == "streaming",
            stack.standby.database.query(WAL_RECEIVER),
        ),
        30,
        progress=lambda _: None,
    )


def test_healing_the_pair_after_a_failover_reseeds_the_region_behind_it(stack):
    """After the February drill: az-a killed, az-b promoted, the pair rebuilt with az-b
    re-seeded. The rebuilt az-b lacks the WAL the region had reached, so it is re-seeded too,
    or March's pre-check finds it no longer streaming."""
    stack.pg.node("az-a").kill9()
    stack.pg.node("az-b").promote()
    heal_database(stack)
    wait_until(
        "the region streaming from the rebuilt az-b",
        lambda: (stack.standby.database.query(WAL_RECEIVER) == [(True, "streaming")], None),
        30,
        progress=lambda _: None,
    )
    # what az-a takes from now on reaches the region
    stack.pg.primary.query("CREATE TABLE IF NOT EXISTS healed (n int)")
    wait_until(
        "the table created on az-a to reach the region",
        lambda: (bool(stack.standby.database.query("SELECT to_regclass('healed')")[0][0]), None),
        10,
        progress=lambda _: None,
    )


def test_a_failback_rebuilds_the_primary_region_from_the_standby_and_loses_nothing(stack):
    service = LocalService(stack, None, None)
    home = stack.storage.primary.region
    service.take_over(REGION).run()
    standby = stack.standby.database
    standby.query("CREATE TABLE written_in_tokyo (n int)", dbname="glancy")
    standby.query("INSERT INTO written_in_tokyo SELECT generate_series(1, 100)", dbname="glancy")
    with pytest.raises(RuntimeError, match=r"az-a accepts writes: rebuild ap-southeast-1"):
        service.take_over(home).run()  # not a standby of ap-northeast-1 yet

    service.stand_by(home).run()
    az_a = stack.pg.node("az-a")
    assert az_a.is_in_recovery()
    done = service.take_over(home).run()

    assert done["database"] == "az-a" and done["fenced"] == REGION
    written = done["diff"]["written_in_tokyo"]  # replayed in full before az-a took over
    assert written[REGION]["rows"] == 100 and written["az-a"] == written[REGION]
    assert not az_a.is_in_recovery()
    # the standby region is fenced until it is rebuilt
    with (
        pytest.raises(psycopg.errors.ReadOnlySqlTransaction),
        psycopg.connect(standby.app_dsn, autocommit=True) as conn,
    ):
        conn.execute("INSERT INTO written_in_tokyo VALUES (0)")
    service.stand_by(REGION).run()
    wait_until(
        "the standby region streaming from the rebuilt pair",
        lambda: (standby.query(WAL_RECEIVER)[0][1] == "streaming", standby.query(WAL_RECEIVER)),
        30,
        progress=lambda _: None,
    )
    [(rows,)] = standby.query("SELECT count(*) FROM written_in_tokyo", dbname="glancy")
    assert rows == 100
