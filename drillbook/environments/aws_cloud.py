"""The cloud capability over an AWS API: a real account, or the embedded moto server.

Reading the records is the same everywhere. A failover differs: on a real account
`failover-db-cluster` is the failover (AWS promotes the reader and moves the cluster endpoint
the service connects through); on the embedded control plane it only moves the record, so the
local environment adds the real promotion (drillbook.environments.local.cloud). A failover is
reverted by failing back; a live one also records a recover op naming the region, endpoint,
cluster and instance (never a credential), so the next run fails back after a SIGKILL.

Across regions (runbook 5.2 step 2) the cluster's read replica cluster in the standby region
is promoted (`promote-read-replica-db-cluster`, a cross-Region Aurora replica becoming its own
writer). A promoted replica cannot replicate again: on a real account nothing reverts it, and
making the region a warm standby again (the takeover's revert, the team's runbook) rebuilds it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

from drillbook.capabilities.operation import Operation, fault, remediation
from drillbook.evidence.signals import MetricDatum
from drillbook.faults.recover import recover_op
from drillbook.platform.cloud import ZONE_TAG, CloudControlPlane, shifted_weights

# A real Aurora failover completes within a minute or two of the call.
FAILOVER_WAIT_S = 180.0
# Promoting a cross-Region replica cluster takes minutes on AWS.
PROMOTE_WAIT_S = 900.0
# Route53 propagates a change to its name servers within about a minute, sometimes more.
CHANGE_WAIT_S = 300.0
# A weight move's revert waits the records' TTL for clients to follow back, up to this.
FOLLOW_WAIT_MAX_S = 60.0


class AwsCloud:
    # A real account outlives the run: what a killed run changed there is put back by the next
    # one, from the journal's recover ops.
    outlives_run = True

    def __init__(
        self,
        plane: Callable[[], CloudControlPlane],
        failover_wait_s: float = FAILOVER_WAIT_S,
        metrics_namespace: str | None = None,
        promote_wait_s: float = PROMOTE_WAIT_S,
    ) -> None:
        """`plane` gives the control plane when first used (the embedded one listens once its
        stack is up). Without `metrics_namespace` the drill's signals are not published."""
        self._plane_of = plane
        self.failover_wait_s = failover_wait_s
        self.promote_wait_s = promote_wait_s
        self.metrics_namespace = metrics_namespace

    @property
    def plane(self) -> CloudControlPlane:
        return self._plane_of()

    def bucket_replication(self, bucket: str) -> dict | None:
        return self.plane.bucket_replication(bucket)

    def cluster_writer(self, cluster: str) -> dict:
        members = self.plane.cluster_members(cluster)
        [writer] = [name for name, member in members.items() if member["is_writer"]]
        return {"instance": writer, "zone": members[writer]["zone"]}

    def failover_plan(self, cluster: str) -> dict[str, Any]:
        """The writer, the reader it fails over to, and their zones."""
        members = self.plane.cluster_members(cluster)
        missing = [name for name, member in members.items() if not member["zone"]]
        if missing:
            raise RuntimeError(
                f"cluster {cluster}: instances {missing} carry no {ZONE_TAG} tag naming the "
                "zone of the profile they stand in (az-a, az-b); tag them to drill a failover"
            )
        writers = [name for name, member in members.items() if member["is_writer"]]
        if len(writers) != 1:
            raise RuntimeError(f"cluster {cluster}: a failover needs one writer, found {members}")
        writer = writers[0]
        readers = [
            name
            for name, member in members.items()
            if not member["is_writer"] and member["zone"] != members[writer]["zone"]
        ]
        if not readers:
            raise RuntimeError(
                f"cluster {cluster}: no reader outside the writer's zone to fail over to: {members}"
            )
        target = readers[0]
        return {
            "cluster": cluster,
            "from": writer,
            "to": target,
            "from_zone": members[writer]["zone"],
            "to_zone": members[target]["zone"],
        }

    def fail_over(self, cluster: str) -> Operation[dict]:
        plan = self.failover_plan(cluster)

        def run() -> dict:
            self.plane.fail_over(cluster, plan["to"], wait_s=self.failover_wait_s)
            return plan

        recover = {
            "op": "rds-fail-back",
            "region": self.plane.region,
            "endpoint": self.plane.endpoint,
            "cluster": cluster,
            "instance": plan["from"],
        }
        return fault(
            "failover",
            f"database cluster {cluster}",
            run,
            lambda: self.fail_back(cluster, plan["from"]),
            recover=recover if self.outlives_run else None,
            **plan,
        )

    def fail_over_region(self, cluster: str, region: str) -> Operation[dict]:
        """The cluster's read replica cluster in `region` promoted to a writer of its own."""
        replica = self.replica_in(cluster, region)

        def run() -> dict:
            plane = self.plane_in(region)
            try:
                promoted = plane.promote_replica_cluster(replica, wait_s=self.promote_wait_s)
            finally:
                plane.close()
            return {"cluster": cluster, "region": region, "promoted": replica, **promoted}

        return remediation(
            "region failover", f"database cluster {cluster}", run, region=region, replica=replica
        )

    def replica_in(self, cluster: str, region: str) -> str:
        """The id of the cluster's read replica cluster in `region`."""
        replicas = self.plane.replica_clusters(cluster)
        found = [arn.rsplit(":", 1)[-1] for arn in replicas if arn.split(":")[3] == region]
        if not found:
            raise RuntimeError(
                f"cluster {cluster} has no read replica cluster in {region} to fail over to "
                f"(its read replicas: {replicas or 'none'})"
            )
        return found[0]

    def plane_in(self, region: str) -> CloudControlPlane:
        """A control plane of `region` on the same endpoint; the caller closes it."""
        return CloudControlPlane(region, self.plane.endpoint, timeout_s=self.plane.timeout_s)

    def publish_metrics(self, data: Sequence[MetricDatum]) -> str:
        if self.metrics_namespace is None:
            raise RuntimeError("no metrics namespace to publish in")
        self.plane.put_metric_data(self.metrics_namespace, [d.as_cloudwatch() for d in data])
        where = self.plane.endpoint or f"CloudWatch of {self.plane.region}"
        return f"{len(data)} data points in namespace {self.metrics_namespace} at {where}"

    def weighted_records(self, name: str) -> list[dict]:
        return self.plane.weighted_records(self.plane.zone_of(name), name)

    def move_weight(self, name: str, to: str, share_pct: int) -> Operation[dict]:
        zone = self.plane.zone_of(name)
        records = self.plane.weighted_records(zone, name)
        before = {r["set_id"]: r["weight"] for r in records}
        after = shifted_weights(before, to, share_pct)

        ttl_s = max((r["ttl"] or 0 for r in records), default=0)

        def run() -> dict:
            change = self.plane.set_weights(zone, name, after, wait_s=CHANGE_WAIT_S)
            return {
                "record": name,
                "zone": zone,
                "before": before,
                "after": change["weights"],
                "change_id": change["change_id"],
                "ttl_s": ttl_s,
            }

        def revert() -> None:
            self.plane.set_weights(zone, name, before, wait_s=CHANGE_WAIT_S)
            # clients keep the moved answer for up to a TTL: what runs next must not meet them
            time.sleep(min(ttl_s, FOLLOW_WAIT_MAX_S))

        recover = {
            "op": "route53-weights",
            "region": self.plane.region,
            "endpoint": self.plane.endpoint,
            "zone": zone,
            "record": name,
            "weights": before,
        }
        return remediation(
            "weight move",
            f"record {name}",
            run,
            revert,
            recover=recover if self.outlives_run else None,
            to=to,
            share_pct=share_pct,
        )

    def fail_back(self, cluster: str, instance: str) -> None:
        """The writer back on `instance`, if it is not there already."""
        if self.cluster_writer(cluster)["instance"] != instance:
            self.plane.fail_over(cluster, instance, wait_s=self.failover_wait_s)


@recover_op("route53-weights")
def put_weights_back(params: dict[str, Any]) -> str:
    """{"region", "endpoint", "zone", "record", "weights"}: the record's weights as they were."""
    plane = CloudControlPlane(params["region"], params["endpoint"])
    try:
        plane.set_weights(params["zone"], params["record"], params["weights"], CHANGE_WAIT_S)
    finally:
        plane.close()
    return f"record {params['record']}: weights {params['weights']}"


@recover_op("rds-fail-back")
def fail_back(params: dict[str, Any]) -> str:
    """{"region", "endpoint", "cluster", "instance"}: the cluster's writer back on instance."""
    plane = CloudControlPlane(params["region"], params["endpoint"])
    try:
        AwsCloud(lambda: plane).fail_back(params["cluster"], params["instance"])
    finally:
        plane.close()
    return f"cluster {params['cluster']}: writer is {params['instance']}"
