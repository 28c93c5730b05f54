"""Runbook 5.2's AWS lines: the pre-checks (`aws s3api get-bucket-replication` must say
Enabled, `aws route53 list-resource-record-sets` must show weighted routing), the RDS cluster
failover (`aws rds failover-db-cluster`), a fault whose revert fails back with the topology
restored, its cross-region form (the read replica cluster in the standby region promoted),
and the traffic switch (`aws route53 change-resource-record-sets`), reverted by putting the
weights back."""

from __future__ import annotations

from pytest_bdd import given, parsers, then, when

from drillbook.bdd import performs
from drillbook.capabilities import Cloud
from drillbook.checks.replication_config import replication_enabled
from drillbook.checks.weighted_routing import weighted_routing
from drillbook.drill import Drill
from steps import DatabaseInUse

REPLICATION = 'replication of "{bucket}" is Enabled'
WEIGHTED = 'the weighted record "{name}" is configured'


@given(parsers.parse(REPLICATION))
@then(parsers.parse(REPLICATION))
def replication_is_enabled(drill: Drill, cloud: Cloud, bucket: str) -> None:
    """A pre-check where it is written: the bucket's replication configuration as the cloud
    API answers it, every rule Enabled."""
    drill.verdict(replication_enabled(bucket, cloud.bucket_replication(bucket)))


@given(parsers.parse(WEIGHTED))
@then(parsers.parse(WEIGHTED))
def weighted_routing_configured(drill: Drill, cloud: Cloud, name: str) -> None:
    """A pre-check: the name's weighted records as Route53 lists them."""
    drill.verdict(weighted_routing(name, cloud.weighted_records(name)))


@when(parsers.parse('{share:d}% of the weight of "{name}" moves to {region}'))
@performs("cloud.move_weight", record="{name}", region="{region}")
def weight_moves(drill: Drill, cloud: Cloud, share: int, name: str, region: str) -> None:
    """The record's weights change in one Route53 change; clients follow as their resolvers'
    answers expire (the records' TTL), which the probes measure."""
    moved = drill.apply(cloud.move_weight(name, region, share))
    drill.evidence.attach_json(f"Route53 change of {name}", moved)


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


@when(parsers.parse('the database cluster "{cluster}" fails over to {region}'))
@performs("cloud.fail_over_region", cluster="{cluster}", region="{region}")
def fail_over_region(drill: Drill, cloud: Cloud, cluster: str, region: str) -> None:
    """Runbook 5.2 step 2 after the takeover: the database endpoint as RDS records it moves to
    the region (its read replica cluster promoted); the record before and after is evidence."""
    moved = drill.apply(cloud.fail_over_region(cluster, region))
    drill.evidence.attach_json(f"RDS failover record of {cluster}: {region}", moved)
