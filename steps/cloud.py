"""Runbook 5.2's AWS lines: the replication pre-check (`aws s3api get-bucket-replication`
must say Enabled) and the RDS cluster failover (`aws rds failover-db-cluster`), a fault whose
revert fails back with the topology restored."""

from __future__ import annotations

from pytest_bdd import given, parsers, then, when

from drillbook.bdd import performs
from drillbook.capabilities import Cloud
from drillbook.checks.replication_config import replication_enabled
from drillbook.drill import Drill
from steps import DatabaseInUse

REPLICATION = 'replication of "{bucket}" is Enabled'


@given(parsers.parse(REPLICATION))
@then(parsers.parse(REPLICATION))
def replication_is_enabled(drill: Drill, cloud: Cloud, bucket: str) -> None:
    """A pre-check where it is written: the bucket's replication configuration as the cloud
    API answers it, every rule Enabled."""
    drill.verdict(replication_enabled(bucket, cloud.bucket_replication(bucket)))


@when(parsers.parse('the database cluster "{cluster}" fails over'))
@performs("cloud.fail_over", cluster="{cluster}")
def fail_over(drill: Drill, cloud: Cloud, cluster: str) -> None:
    """The writer moves to a reader in another zone and the service follows it (T0 when it
    is the first fault); the probes measure the RTO."""
    moved = drill.apply(cloud.fail_over(cluster))
    drill.remember(
        DatabaseInUse(moved["to_zone"])
    )  # the drill's writer follows the database in use
    drill.evidence.attach_json(
        f"failover of {cluster}", {**moved, "writer": cloud.cluster_writer(cluster)}
    )
