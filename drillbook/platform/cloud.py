"""The AWS control plane a drill acts on: the RDS cluster's writer and its failover, the
exports bucket's replication record, the API's weighted DNS records and CloudWatch metrics.

Against the embedded environment the clients come from localstack-client pointed at the moto
server (every service on one port, as LocalStack's edge port); against a real account, from a
plain boto3 session with the usual credential chain. Every call is bounded by timeouts and
retried at most twice, and every failure surfaces as one exception class that names the
service, the call, the resource and the endpoint, so a drill's evidence says what was refused
where.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

import boto3
from botocore.client import BaseClient
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from localstack_client.session import Session as LocalstackSession

# The tag that keeps the harness's zone name ("az-a") on an instance, next to its AWS zone.
ZONE_TAG = "drillbook:zone"
# PutMetricData takes at most 1000 metric data entries per call.
METRIC_DATA_PER_CALL = 1000


class CloudCallError(RuntimeError):
    """A control-plane call failed or did not do what it was asked to."""

    def __init__(self, service: str, call: str, resource: str, endpoint: str, detail: str) -> None:
        self.service = service
        self.call = call
        self.resource = resource
        self.endpoint = endpoint
        self.detail = detail
        super().__init__(f"{service} {call} on {resource} at {endpoint}: {detail}")


def aws_client(
    service: str, *, region: str, endpoint: str | None, timeout_s: float = 5.0
) -> BaseClient:
    """A client of `service` whose every call is bounded: connect and read timeouts, two
    retries. `endpoint` ("http://127.0.0.1:4566") is a LocalStack-style edge serving every
    service; None means the real AWS endpoints of `region`."""
    config = Config(connect_timeout=timeout_s, read_timeout=timeout_s, retries={"max_attempts": 2})
    if endpoint is None:
        return boto3.session.Session(region_name=region).client(service, config=config)
    edge = urlsplit(endpoint)
    session = LocalstackSession(region_name=region, localstack_host=edge.netloc)
    client = session.client(service, config=config)
    # localstack-client prefers $AWS_ENDPOINT_URL to the host it is given and takes the scheme
    # from $USE_SSL: a drill must not act on another endpoint than the one it reports.
    chosen = client.meta.endpoint_url.rstrip("/")
    if chosen != endpoint.rstrip("/"):
        client.close()
        raise CloudCallError(
            service,
            "client",
            f"region {region}",
            endpoint,
            f"localstack-client chose {chosen} instead (AWS_ENDPOINT_URL or USE_SSL set?)",
        )
    return client


class CloudControlPlane:
    """The control plane of one region, through clients made once and shared (boto3 clients
    are thread-safe; making one is not, hence the lock)."""

    def __init__(self, region: str, endpoint: str | None = None, *, timeout_s: float = 5.0) -> None:
        self.region = region
        self.endpoint = endpoint
        self.timeout_s = timeout_s
        self._clients: dict[str, BaseClient] = {}
        self._lock = threading.Lock()

    def client(self, service: str) -> BaseClient:
        """The shared client of `service` in this region."""
        with self._lock:
            if service not in self._clients:
                self._clients[service] = aws_client(
                    service, region=self.region, endpoint=self.endpoint, timeout_s=self.timeout_s
                )
            return self._clients[service]

    def close(self) -> None:
        with self._lock:
            for client in self._clients.values():
                client.close()
            self._clients.clear()

    def call(self, service: str, operation: str, resource: str, **params: Any) -> dict:
        """One API call; a boto error comes back as a CloudCallError naming `resource`."""
        client = self.client(service)
        try:
            return getattr(client, operation)(**params)
        except (BotoCoreError, ClientError) as exc:
            raise CloudCallError(
                service, operation, resource, client.meta.endpoint_url, _describe(exc)
            ) from exc

    # RDS

    def cluster_members(self, cluster: str) -> dict[str, dict]:
        """Instance id -> {"is_writer", "zone" (the drillbook:zone tag, None without one),
        "availability_zone"} of every instance of the DB cluster."""
        members = self._cluster(cluster)["DBClusterMembers"]
        instances = self.call(
            "rds",
            "describe_db_instances",
            f"cluster {cluster}",
            Filters=[{"Name": "db-cluster-id", "Values": [cluster]}],
        )["DBInstances"]
        by_id = {instance["DBInstanceIdentifier"]: instance for instance in instances}
        found = {}
        for member in members:
            instance = by_id.get(member["DBInstanceIdentifier"], {})
            tags = {tag["Key"]: tag["Value"] for tag in instance.get("TagList", [])}
            found[member["DBInstanceIdentifier"]] = {
                "is_writer": member["IsClusterWriter"],
                "zone": tags.get(ZONE_TAG),
                "availability_zone": instance.get("AvailabilityZone"),
            }
        return found

    def cluster_writer(self, cluster: str) -> str:
        """The id of the cluster's writer instance."""
        writers = [
            member["DBInstanceIdentifier"]
            for member in self._cluster(cluster)["DBClusterMembers"]
            if member["IsClusterWriter"]
        ]
        if not writers:
            raise self._error("rds", "describe_db_clusters", f"cluster {cluster}", "no writer")
        return writers[0]

    def fail_over(self, cluster: str, target_instance: str, *, wait_s: float = 0.0) -> dict:
        """Fail the cluster over to `target_instance` and read the writer back:
        {"cluster", "from", "to"}. A real Aurora failover completes some seconds after the call
        returns, so the writer is read again for up to `wait_s`; moto switches it at once.
        Raises if the target is not the writer by then, or already was: the writer would not
        change, and a drill that believes it failed over would measure nothing."""
        before = self.cluster_writer(cluster)
        resource = f"cluster {cluster} (target instance {target_instance})"
        if before == target_instance:
            raise self._error(
                "rds", "failover_db_cluster", resource, f"{before} is already the writer"
            )
        self.call(
            "rds",
            "failover_db_cluster",
            resource,
            DBClusterIdentifier=cluster,
            TargetDBInstanceIdentifier=target_instance,
        )
        deadline = time.monotonic() + wait_s
        while (after := self.cluster_writer(cluster)) != target_instance:
            if time.monotonic() >= deadline:
                raise self._error(
                    "rds",
                    "failover_db_cluster",
                    resource,
                    f"the writer is {after} (was {before}), not {target_instance}, "
                    f"{wait_s:g} s after the failover",
                )
            time.sleep(min(1.0, max(0.0, deadline - time.monotonic())))
        return {"cluster": cluster, "from": before, "to": after}

    def replica_clusters(self, cluster: str) -> list[str]:
        """The ARNs of the cluster's read replica clusters (in other regions, for DR)."""
        return list(self._cluster(cluster).get("ReadReplicaIdentifiers", []))

    def replica_state(self, cluster: str) -> dict:
        """{"cluster", "source" (the ARN it replicates, None once promoted), "status"}."""
        found = self._cluster(cluster)
        return {
            "cluster": cluster,
            "source": found.get("ReplicationSourceIdentifier"),
            "status": found.get("Status"),
        }

    def promote_replica_cluster(self, cluster: str, *, wait_s: float = 0.0) -> dict:
        """`promote-read-replica-db-cluster`: the read replica cluster becomes a standalone
        writer. Read back for up to `wait_s` until it has no source and is available (AWS takes
        minutes; moto is at once). Raises if it replicates nothing to begin with: it would not
        change, and a drill that believes it failed over would measure nothing."""
        before = self.replica_state(cluster)
        resource = f"cluster {cluster}"
        if before["source"] is None:
            raise self._error(
                "rds", "promote_read_replica_db_cluster", resource, "it is no read replica"
            )
        self.call("rds", "promote_read_replica_db_cluster", resource, DBClusterIdentifier=cluster)
        deadline = time.monotonic() + wait_s
        while (after := self.replica_state(cluster))["source"] or after["status"] != "available":
            if time.monotonic() >= deadline:
                raise self._error(
                    "rds",
                    "promote_read_replica_db_cluster",
                    resource,
                    f"still {after['status']}, replicating {after['source']}, {wait_s:g} s "
                    "after the promotion",
                )
            time.sleep(min(5.0, max(0.0, deadline - time.monotonic())))
        return {"before": before, "after": after}

    def _cluster(self, cluster: str) -> dict:
        return self.call(
            "rds", "describe_db_clusters", f"cluster {cluster}", DBClusterIdentifier=cluster
        )["DBClusters"][0]

    # S3

    def bucket_replication(self, bucket: str) -> dict | None:
        """The bucket's replication configuration as boto3 returns it ({"Role", "Rules"}),
        None when the bucket has none (drillbook.checks.replication_config judges it)."""
        try:
            answer = self.call("s3", "get_bucket_replication", f"bucket {bucket}", Bucket=bucket)
        except CloudCallError as exc:
            if _error_code(exc.__cause__) == "ReplicationConfigurationNotFoundError":
                return None
            raise
        return answer["ReplicationConfiguration"]

    # Route53

    def weighted_records(
        self, zone_name: str, record_name: str, record_type: str = "A"
    ) -> list[dict]:
        """The weighted records of `record_name` in the hosted zone: [{"set_id", "weight",
        "ttl", "value"}], where value is the record's values joined by commas, or the alias
        target's DNS name."""
        zone_id = self._hosted_zone_id(zone_name)
        return [
            _weighted(r) for r in self._record_sets(zone_id, _absolute(record_name), record_type)
        ]

    def zone_of(self, record_name: str) -> str:
        """The hosted zone `record_name` belongs to: the longest zone name it ends with."""
        name = _absolute(record_name)
        pages = self.client("route53").get_paginator("list_hosted_zones").paginate()
        try:
            zones = [zone for page in pages for zone in page["HostedZones"]]
        except (BotoCoreError, ClientError) as exc:
            raise self._error(
                "route53", "list_hosted_zones", f"the zone of {name}", _describe(exc)
            ) from exc
        # a private zone answers inside its VPCs only: clients on the internet never see it
        zones = [z for z in zones if not z.get("Config", {}).get("PrivateZone")]
        owning = [z["Name"] for z in zones if name == z["Name"] or name.endswith("." + z["Name"])]
        if not owning:
            listed = ", ".join(z["Name"] for z in zones) or "none"
            raise self._error(
                "route53", "list_hosted_zones", f"the zone of {name}", f"no zone holds it: {listed}"
            )
        return max(owning, key=len)

    def set_weights(
        self, zone_name: str, record_name: str, weights: Mapping[str, int], wait_s: float = 60.0
    ) -> dict:
        """UPSERT the weighted records of `record_name` whose SetIdentifier `weights` names
        with those weights, everything else about them kept, as one change; wait until
        Route53 says it is INSYNC. {"change_id", "status", "weights"} (every record's, after)."""
        zone_id = self._hosted_zone_id(zone_name)
        name = _absolute(record_name)
        resource = f"record {name} in zone {_absolute(zone_name)}"
        records = {r["SetIdentifier"]: r for r in self._record_sets(zone_id, name, "A")}
        unknown = sorted(set(weights) - set(records))
        if unknown:
            raise self._error(
                "route53",
                "change_resource_record_sets",
                resource,
                f"no weighted record {unknown}; its records are {sorted(records)}",
            )
        changes = [
            {"Action": "UPSERT", "ResourceRecordSet": {**records[set_id], "Weight": weight}}
            for set_id, weight in weights.items()
        ]
        change = self.call(
            "route53",
            "change_resource_record_sets",
            resource,
            HostedZoneId=zone_id,
            ChangeBatch={"Comment": "drillbook: weights moved", "Changes": changes},
        )["ChangeInfo"]
        deadline = time.monotonic() + wait_s
        while change["Status"] != "INSYNC":
            if time.monotonic() >= deadline:
                raise self._error(
                    "route53",
                    "get_change",
                    resource,
                    f"{change['Id']} not INSYNC after {wait_s:g} s",
                )
            time.sleep(min(2.0, max(0.0, deadline - time.monotonic())))
            change = self.call("route53", "get_change", resource, Id=change["Id"])["ChangeInfo"]
        after = {r["set_id"]: r["weight"] for r in self.weighted_records(zone_name, record_name)}
        return {"change_id": change["Id"], "status": change["Status"], "weights": after}

    def _record_sets(self, zone_id: str, name: str, record_type: str) -> list[dict]:
        """The weighted record sets of `name` as Route53 lists them."""
        resource = f"record {name} {record_type} in zone {zone_id}"
        paginator = self.client("route53").get_paginator("list_resource_record_sets")
        pages = paginator.paginate(
            HostedZoneId=zone_id, StartRecordName=name, StartRecordType=record_type
        )
        found = []
        try:
            for page in pages:
                for record in page["ResourceRecordSets"]:
                    if (record["Name"], record["Type"]) != (name, record_type):
                        # listed in name order from the start record: nothing of ours follows
                        return found
                    if "Weight" in record:
                        found.append(record)
        except (BotoCoreError, ClientError) as exc:
            raise self._error(
                "route53", "list_resource_record_sets", resource, _describe(exc)
            ) from exc
        return found

    def _hosted_zone_id(self, zone_name: str) -> str:
        name = _absolute(zone_name)
        zones = self.call("route53", "list_hosted_zones_by_name", f"zone {name}", DNSName=name)[
            "HostedZones"
        ]
        for zone in zones:
            if zone["Name"] == name:
                return zone["Id"]
        raise self._error("route53", "list_hosted_zones_by_name", f"zone {name}", "no such zone")

    # CloudWatch

    def put_metric_data(self, namespace: str, data: Sequence[Mapping[str, Any]]) -> None:
        """Publish PutMetricData entries, in as few calls as its per-call limit allows."""
        for first in range(0, len(data), METRIC_DATA_PER_CALL):
            batch = list(data[first : first + METRIC_DATA_PER_CALL])
            self.call(
                "cloudwatch",
                "put_metric_data",
                f"{len(batch)} data points of namespace {namespace}",
                Namespace=namespace,
                MetricData=batch,
            )

    def _error(self, service: str, call: str, resource: str, detail: str) -> CloudCallError:
        return CloudCallError(
            service, call, resource, self.client(service).meta.endpoint_url, detail
        )


def _describe(exc: Exception) -> str:
    code = _error_code(exc)
    return f"{code}: {exc}" if code else f"{type(exc).__name__}: {exc}"


def _error_code(exc: BaseException | None) -> str | None:
    if isinstance(exc, ClientError):
        return exc.response.get("Error", {}).get("Code")
    return None


def _absolute(name: str) -> str:
    """Route53 answers with fully qualified names ("api.glancy.")."""
    return name if name.endswith(".") else name + "."


def shifted_weights(current: Mapping[str, int], to: str, share_pct: int) -> dict[str, int]:
    """Weights out of 100 that send `share_pct`% of the traffic to the record `to`, the rest
    to the other records in proportion to their current weights (evenly if they have none),
    rounded by largest remainder so they still add up to 100."""
    if to not in current:
        raise KeyError(f"no weighted record {to!r}; its records are {sorted(current)}")
    if not 0 <= share_pct <= 100:
        raise ValueError(f"a share of the weight is 0 to 100%, not {share_pct}%")
    others = [set_id for set_id in current if set_id != to]
    rest = 100 - share_pct
    if rest and not others:
        raise ValueError(f"{to!r} is the only weighted record: {rest}% has nowhere to go")
    basis = {s: current[s] for s in others} if any(current[s] for s in others) else None
    total = sum(basis.values()) if basis else len(others)
    exact = {s: rest * (basis[s] if basis else 1) / total for s in others}
    weights = {s: int(share) for s, share in exact.items()}
    by_remainder = sorted(others, key=lambda s: exact[s] - weights[s], reverse=True)
    for set_id in by_remainder[: rest - sum(weights.values())]:
        weights[set_id] += 1
    return {to: share_pct, **weights}


def _weighted(record: dict) -> dict:
    values = [value["Value"] for value in record.get("ResourceRecords", [])]
    alias = record.get("AliasTarget", {}).get("DNSName")
    return {
        "set_id": record.get("SetIdentifier"),
        "weight": record["Weight"],
        "ttl": record.get("TTL"),
        "value": ",".join(values) if values else alias,
    }
