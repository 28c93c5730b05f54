"""The cloud control plane against a real moto server, seeded as the embedded environment
seeds it: the RDS writer and its failover, S3 replication's status, Route53's weighted record,
and errors that name what failed where."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest

from drillbook.checks.replication_config import replication_enabled
from drillbook.environments.aws_cloud import AwsCloud
from drillbook.evidence.signals import NAMESPACE, MetricDatum, signal_data
from drillbook.faults.recover import run_recover
from drillbook.platform.cloud import CloudCallError, CloudControlPlane
from drillbook.stack.cloud import ACCOUNT, MotoServer, seed_control_plane, seed_replica_cluster
from drillbook.stack.ports import free_port
from drillbook.workload.history import History, Op

PRIMARY, DR = "ap-southeast-1", "ap-northeast-1"
CLUSTER, AZ_A, AZ_B = "glancy-main", "glancy-main-az-a", "glancy-main-az-b"
BUCKET = "glancy-exports"
API_ADDRESS, DR_ADDRESS = "127.0.0.10", "127.0.0.11"


@pytest.fixture(scope="module")
def moto(tmp_path_factory):
    server = MotoServer(
        port=free_port(),
        log_path=tmp_path_factory.mktemp("moto") / "moto.log",
        ready_timeout_s=15.0,
    )
    server.spawn()
    try:
        server.wait_ready()
        seed_control_plane(
            server.endpoint_url,
            primary_region=PRIMARY,
            dr_region=DR,
            api_addresses={PRIMARY: API_ADDRESS, DR: DR_ADDRESS},
        )
        yield server
    finally:
        server.stop()


@pytest.fixture
def plane(moto):
    plane = CloudControlPlane(PRIMARY, moto.endpoint_url, timeout_s=2.0)
    yield plane
    plane.close()


def test_the_seeded_writer_is_the_az_a_instance_and_each_instance_keeps_its_zone(plane):
    assert plane.cluster_writer(CLUSTER) == AZ_A
    assert plane.cluster_members(CLUSTER) == {
        AZ_A: {"is_writer": True, "zone": "az-a", "availability_zone": "ap-southeast-1a"},
        AZ_B: {"is_writer": False, "zone": "az-b", "availability_zone": "ap-southeast-1b"},
    }


def test_fail_over_moves_the_writer_to_az_b_and_back(plane):
    assert plane.fail_over(CLUSTER, AZ_B) == {"cluster": CLUSTER, "from": AZ_A, "to": AZ_B}
    assert plane.cluster_writer(CLUSTER) == AZ_B
    assert plane.cluster_members(CLUSTER)[AZ_A]["is_writer"] is False
    assert plane.fail_over(CLUSTER, AZ_A) == {"cluster": CLUSTER, "from": AZ_B, "to": AZ_A}
    assert plane.cluster_writer(CLUSTER) == AZ_A


def test_fail_over_to_an_unknown_instance_is_refused_naming_it(plane, moto):
    with pytest.raises(CloudCallError) as raised:
        plane.fail_over(CLUSTER, "glancy-main-az-z")
    message = str(raised.value)
    assert "failover_db_cluster" in message and "glancy-main-az-z" in message
    assert CLUSTER in message and moto.endpoint_url in message
    assert plane.cluster_writer(CLUSTER) == AZ_A


def test_fail_over_to_the_writer_itself_is_refused_as_the_writer_would_not_change(plane):
    with pytest.raises(CloudCallError, match=f"{CLUSTER} .*{AZ_A} is already the writer"):
        plane.fail_over(CLUSTER, AZ_A)


def test_a_failover_that_leaves_the_writer_in_place_is_an_error_after_the_wait(plane, monkeypatch):
    """As a real Aurora failover still in progress: the call is accepted, the writer stays."""
    real_call = plane.call

    def accepted_without_effect(service, operation, resource, **params):
        if operation == "failover_db_cluster":
            return {}
        return real_call(service, operation, resource, **params)

    monkeypatch.setattr(plane, "call", accepted_without_effect)
    started = time.monotonic()
    with pytest.raises(CloudCallError) as raised:
        plane.fail_over(CLUSTER, AZ_B, wait_s=0.3)
    assert time.monotonic() - started >= 0.3
    assert f"cluster {CLUSTER} (target instance {AZ_B})" in str(raised.value)
    assert f"the writer is {AZ_A} (was {AZ_A}), not {AZ_B}, 0.3 s after" in str(raised.value)


def test_replication_is_enabled_and_reads_disabled_once_its_rule_is(plane):
    config = plane.bucket_replication(BUCKET)
    assert config["Rules"][0]["Destination"]["Bucket"] == f"arn:aws:s3:::{BUCKET}-{DR}"
    assert replication_enabled(BUCKET, config).passed
    disabled = {**config, "Rules": [{**rule, "Status": "Disabled"} for rule in config["Rules"]]}
    s3 = plane.client("s3")
    s3.put_bucket_replication(Bucket=BUCKET, ReplicationConfiguration=disabled)
    try:
        result = replication_enabled(BUCKET, plane.bucket_replication(BUCKET))
        assert (result.passed, result.shown) == (False, "Disabled"), result.explanation
    finally:
        s3.put_bucket_replication(Bucket=BUCKET, ReplicationConfiguration=config)
    assert replication_enabled(BUCKET, plane.bucket_replication(BUCKET)).passed


def test_a_bucket_without_replication_has_none_and_fails_the_check(plane):
    assert plane.bucket_replication(f"{BUCKET}-{DR}") is None
    result = replication_enabled(f"{BUCKET}-{DR}", None)
    assert not result.passed and "no replication configuration" in result.explanation


def test_each_region_has_a_weighted_api_record_and_the_primary_takes_the_weight(plane):
    records = plane.weighted_records("glancy", "api.glancy.")
    assert sorted(records, key=lambda r: r["set_id"]) == [
        {"set_id": DR, "weight": 0, "ttl": 5, "value": DR_ADDRESS},
        {"set_id": PRIMARY, "weight": 100, "ttl": 5, "value": API_ADDRESS},
    ]
    assert plane.zone_of("api.glancy") == "glancy."


def test_set_weights_moves_the_weight_in_one_change_and_keeps_the_rest_of_each_record(plane):
    try:
        moved = plane.set_weights("glancy.", "api.glancy", {PRIMARY: 0, DR: 100})
        assert moved["status"] == "INSYNC" and moved["weights"] == {PRIMARY: 0, DR: 100}
        records = {r["set_id"]: r for r in plane.weighted_records("glancy.", "api.glancy")}
        assert records[DR] == {"set_id": DR, "weight": 100, "ttl": 5, "value": DR_ADDRESS}
    finally:
        plane.set_weights("glancy.", "api.glancy", {PRIMARY: 100, DR: 0})


def test_set_weights_of_a_record_that_does_not_exist_is_refused_naming_the_records(plane):
    with pytest.raises(CloudCallError, match=r"no weighted record \['eu-west-1'\]; its records"):
        plane.set_weights("glancy.", "api.glancy", {"eu-west-1": 100})


def test_a_name_in_no_hosted_zone_is_an_error_listing_the_zones(plane):
    with pytest.raises(CloudCallError, match=r"api.example. .*no zone holds it: glancy."):
        plane.zone_of("api.example")


def test_an_unknown_hosted_zone_is_an_error_naming_it(plane):
    with pytest.raises(CloudCallError, match="zone nowhere. .*no such zone"):
        plane.weighted_records("nowhere.", "api.nowhere")


def test_a_drills_signals_are_published_in_batches_and_read_back_as_statistics(plane):
    """More points than one PutMetricData call takes, read back as get-metric-statistics does."""
    now = time.time()
    history = History(
        [
            Op(
                "lag:az-b",
                "sample",
                at - 0.01,
                at,
                "ok",
                {"streaming": True, "primary_replay_lag_s": lag},
            )
            for at, lag in ((now - 1500 + i, (i % 7) * 0.5) for i in range(1500))
        ]
    )
    data = signal_data(history, "2_pitr", "switch")
    cloud = AwsCloud(lambda: plane, metrics_namespace=NAMESPACE)
    assert cloud.publish_metrics(data) == (
        f"1500 data points in namespace {NAMESPACE} at {plane.endpoint}"
    )
    statistics = plane.call(
        "cloudwatch",
        "get_metric_statistics",
        "the lag of az-b",
        Namespace=NAMESPACE,
        MetricName="ReplicationLag",
        Dimensions=[
            {"Name": "Drill", "Value": "2_pitr"},
            {"Name": "Scenario", "Value": "switch"},
            {"Name": "Standby", "Value": "az-b"},
        ],
        StartTime=datetime.fromtimestamp(now - 1600, UTC),
        EndTime=datetime.fromtimestamp(now + 60, UTC),
        Period=3600,
        Statistics=["Maximum", "SampleCount"],
    )["Datapoints"]
    assert sum(point["SampleCount"] for point in statistics) == 1500
    assert max(point["Maximum"] for point in statistics) == 3.0


def test_a_publication_that_cannot_reach_cloudwatch_names_the_namespace_and_endpoint():
    closed = CloudControlPlane(PRIMARY, f"http://127.0.0.1:{free_port()}", timeout_s=1.0)
    datum = MetricDatum("ReplicationLag", 1.0, "Seconds", time.time(), (("Drill", "x"),))
    with pytest.raises(CloudCallError) as raised:
        AwsCloud(lambda: closed, metrics_namespace=NAMESPACE).publish_metrics([datum])
    assert f"put_metric_data on 1 data points of namespace {NAMESPACE}" in str(raised.value)
    assert closed.endpoint in str(raised.value)


def test_an_unreachable_endpoint_fails_within_seconds_naming_the_call_and_endpoint():
    closed = f"http://127.0.0.1:{free_port()}"
    plane = CloudControlPlane(PRIMARY, closed, timeout_s=1.0)
    started = time.monotonic()
    with pytest.raises(CloudCallError) as raised:
        plane.cluster_writer(CLUSTER)
    assert time.monotonic() - started < 5.0
    assert f"rds describe_db_clusters on cluster {CLUSTER} at {closed}" in str(raised.value)
    plane.close()


def test_a_client_that_would_go_elsewhere_than_the_endpoint_given_is_refused(monkeypatch, moto):
    # localstack-client takes $AWS_ENDPOINT_URL over the host it is handed
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:1")
    plane = CloudControlPlane(PRIMARY, moto.endpoint_url)
    with pytest.raises(CloudCallError, match="chose http://127.0.0.1:1 instead"):
        plane.client("rds")


def test_moving_the_weight_is_a_remediation_reverted_and_recovered_by_the_weights_before(plane):
    cloud = AwsCloud(lambda: plane)
    move = cloud.move_weight("api.glancy", DR, 100)
    assert (move.role, move.kind, move.target) == (
        "remediation",
        "weight move",
        "record api.glancy",
    )
    moved = move.run()
    assert moved == {
        "record": "api.glancy",
        "zone": "glancy.",
        "before": {PRIMARY: 100, DR: 0},
        "after": {PRIMARY: 0, DR: 100},
        "change_id": moved["change_id"],
        "ttl_s": 5,
    }
    move.revert()
    assert _weights(cloud) == {PRIMARY: 100, DR: 0}
    # as a later run finds it in the journal of a killed one
    cloud.move_weight("api.glancy", DR, 100).run()
    assert move.recover == {
        "op": "route53-weights",
        "region": PRIMARY,
        "endpoint": plane.endpoint,
        "zone": "glancy.",
        "record": "api.glancy",
        "weights": {PRIMARY: 100, DR: 0},
    }
    assert run_recover(move.recover) == (
        f"record api.glancy: weights {{'{PRIMARY}': 100, '{DR}': 0}}"
    )
    assert _weights(cloud) == {PRIMARY: 100, DR: 0}


def _weights(cloud: AwsCloud) -> dict[str, int]:
    return {r["set_id"]: r["weight"] for r in cloud.weighted_records("api.glancy")}


def test_the_region_failover_promotes_the_replica_cluster_and_the_seeding_rejoins_it(plane, moto):
    """Runbook 5.2 step 2: the replica in the standby region becomes a writer of its own; a
    second promotion is refused (nothing would change); seeding it again (the local revert)
    makes it a replica once more."""
    cloud = AwsCloud(lambda: plane, promote_wait_s=0.0)
    replica = f"{CLUSTER}-{DR}"
    source = f"arn:aws:rds:{PRIMARY}:{ACCOUNT}:cluster:{CLUSTER}"
    move = cloud.fail_over_region(CLUSTER, DR)
    assert (move.role, move.kind, move.target, move.revert) == (
        "remediation", "region failover", f"database cluster {CLUSTER}", None,
    )  # fmt: skip

    moved = move.run()

    assert moved == {
        "cluster": CLUSTER,
        "region": DR,
        "promoted": replica,
        "before": {"cluster": replica, "source": source, "status": moved["before"]["status"]},
        "after": {"cluster": replica, "source": None, "status": "available"},
    }
    with pytest.raises(RuntimeError, match=rf"cluster {CLUSTER} has no read replica .* {DR}"):
        cloud.fail_over_region(CLUSTER, DR)
    dr = cloud.plane_in(DR)
    try:
        with pytest.raises(CloudCallError, match="it is no read replica"):
            dr.promote_replica_cluster(replica)
        seed_replica_cluster(plane, dr, CLUSTER)
        assert dr.replica_state(replica)["source"] == source
    finally:
        dr.close()


def test_a_region_without_a_replica_cluster_is_refused_naming_the_replicas(plane):
    with pytest.raises(RuntimeError, match=rf"no read replica cluster in eu-west-1 .*{DR}"):
        AwsCloud(lambda: plane).fail_over_region(CLUSTER, "eu-west-1")
