"""The cloud control plane the service's managed parts are recorded in (runbook 5.2's `aws`
lines): the RDS cluster and its writer, the buckets' replication configuration, the service's
weighted DNS records, and CloudWatch, where a drill publishes the signals it measured."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from drillbook.capabilities.operation import Operation
from drillbook.evidence.signals import MetricDatum


class Cloud(Protocol):
    def bucket_replication(self, bucket: str) -> dict | None:
        """`get-bucket-replication` of the bucket ({"Role", "Rules"}), None when the bucket
        has no replication configuration."""
        ...

    def cluster_writer(self, cluster: str) -> dict:
        """The DB cluster's writer: {"instance", "zone"}."""
        ...

    def weighted_records(self, name: str) -> list[dict]:
        """The weighted records of the DNS name, in the hosted zone that holds it: [{"set_id",
        "weight", "ttl", "value"}]."""
        ...

    def move_weight(self, name: str, to: str, share_pct: int) -> Operation[dict]:
        """`aws route53 change-resource-record-sets` giving the record whose SetIdentifier is
        `to` (a region) `share_pct`% of the weight, the others the rest. A remediation,
        reverted by putting the weights back. Its result: {"record", "zone", "before",
        "after" (SetIdentifier -> weight), "change_id", "ttl_s" (the longest TTL: how long
        resolvers may keep sending clients where the weight was)}."""
        ...

    metrics_namespace: str | None

    def publish_metrics(self, data: Sequence[MetricDatum]) -> str:
        """Put the data points in CloudWatch under `metrics_namespace`; says how many, where."""
        ...

    def fail_over(self, cluster: str) -> Operation[dict]:
        """`aws rds failover-db-cluster` to a reader, as for a Multi-AZ cluster: the writer
        moves and the service follows it. Reverted by failing back with the topology restored.
        Its result: {"cluster", "from", "to", "from_zone", "to_zone"}."""
        ...

    def fail_over_region(self, cluster: str, region: str) -> Operation[dict]:
        """Runbook 5.2 step 2 across regions: the cluster's read replica cluster in `region`
        promoted to a writer (`aws rds promote-read-replica-db-cluster`). Its result: {"cluster",
        "region", "promoted", "before", "after"}, each state {"cluster", "source", "status"}."""
        ...
