"""The cloud control plane the service's managed parts are recorded in (runbook 5.2's `aws`
lines): the RDS cluster and its writer, the buckets' replication configuration, and CloudWatch,
where a drill publishes the signals it measured."""

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

    metrics_namespace: str | None

    def publish_metrics(self, data: Sequence[MetricDatum]) -> str:
        """Put the data points in CloudWatch under `metrics_namespace`; says how many, where."""
        ...

    def fail_over(self, cluster: str) -> Operation[dict]:
        """`aws rds failover-db-cluster` to a reader, as for a Multi-AZ cluster: the writer
        moves and the service follows it. Reverted by failing back with the topology restored.
        Its result: {"cluster", "from", "to", "from_zone", "to_zone"}."""
        ...
