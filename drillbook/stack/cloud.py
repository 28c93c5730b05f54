"""The AWS control plane of the local stack: one moto server with every service on one port,
as LocalStack's edge port, seeded with what the drills act on.

Nothing real happens behind it: a failover only flips which instance the cluster calls its
writer, and a replication rule only records where objects would go. The harness promotes the
real standby and MinIO replicates the real objects; moto holds the control plane's record of
them, so the runbooks' AWS calls and pre-checks have a real API to answer them.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx

from drillbook.platform.cloud import ZONE_TAG, CloudControlPlane
from drillbook.stack.process import LocalProcess, ManagedProcess

# moto's server comes with the harness's own Python packages, so it is looked for next to the
# interpreter rather than on PATH, where another installation could answer.
MOTO_SERVER = Path(sys.executable).with_name("moto_server")
# moto's default account, in the ARNs a seeded record refers to
ACCOUNT = "123456789012"
CLUSTER = "glancy-main"
ZONES = ("az-a", "az-b")
EXPORTS_BUCKET = "glancy-exports"
HOSTED_ZONE = "glancy."
API_RECORD = "api.glancy"
API_TTL_S = 5


class MotoServer(LocalProcess):
    """`moto_server` on 127.0.0.1:<port>, every AWS service it emulates on that one port."""

    def __init__(self, *, port: int, log_path: Path, ready_timeout_s: float) -> None:
        self.port = port
        self.log_path = log_path
        self.ready_timeout_s = ready_timeout_s
        # moto builds some URLs it hands out from MOTO_PORT: an inherited one would be wrong
        env = {**os.environ, "MOTO_PORT": str(port)}
        argv = [str(MOTO_SERVER), "-H", "127.0.0.1", "-p", str(port)]
        self._process = ManagedProcess("moto server", argv, log_path, env=env)

    @property
    def endpoint_url(self) -> str:
        return f"http://{self.address}"

    def wait_ready(self) -> None:
        """Ready once moto's own API answers (its configuration, a cheap read)."""

        def answers() -> None:
            httpx.get(f"{self.endpoint_url}/moto-api/config", timeout=1.0).raise_for_status()

        self._process.wait_ready(answers, self.ready_timeout_s)


def aws_zone(region: str, zone: str) -> str:
    """The AWS availability zone standing for a harness zone: "az-b" in ap-southeast-1 is
    ap-southeast-1b."""
    letter = zone.removeprefix("az-")
    if zone == letter or len(letter) != 1 or not letter.isalpha():
        raise ValueError(f"zone {zone!r} is not named az-<letter>")
    return f"{region}{letter}"


@dataclass(frozen=True)
class SeededControlPlane:
    """What seed_control_plane created, by the names the drills use."""

    cluster: str
    instances: dict[str, str]  # harness zone -> instance id; the first zone's is the writer
    replica_cluster: str  # the cluster's read replica cluster in the DR region
    bucket: str
    replication_destination: str  # the DR bucket's ARN
    hosted_zone_id: str
    api_record: str


def seed_control_plane(
    endpoint_url: str,
    *,
    primary_region: str,
    dr_region: str,
    api_addresses: Mapping[str, str],
    zones: Sequence[str] = ZONES,
    cluster: str = CLUSTER,
    bucket: str = EXPORTS_BUCKET,
    hosted_zone: str = HOSTED_ZONE,
    api_record: str = API_RECORD,
    api_ttl_s: int = API_TTL_S,
    timeout_s: float = 5.0,
) -> SeededControlPlane:
    """Create, on a fresh moto server, the resources the drills act on:

    - an aurora-postgresql cluster with one instance per zone, `<cluster>-<zone>`, each in its
      AWS zone and tagged with the harness's zone name; the first zone's is the writer,
    - its cross-region read replica cluster `<cluster>-<dr region>` in the DR region (the warm
      standby's database as RDS records it),
    - the versioned `bucket` in the primary region, replicated (Enabled) to its DR copy
      `<bucket>-<dr region>` (bucket names are global in AWS, so the copy cannot share the
      primary's name as it does between the two MinIO servers),
    - the hosted zone with the API's weighted A records, one per region of `api_addresses`
      (region -> the address of its entry point), SetIdentifier the region: the primary
      region's weight 100, the others' 0, each with the TTL `api_ttl_s`.
    """
    primary = CloudControlPlane(primary_region, endpoint_url, timeout_s=timeout_s)
    dr = CloudControlPlane(dr_region, endpoint_url, timeout_s=timeout_s)
    try:
        instances = _seed_cluster(primary, cluster, zones)
        replica = seed_replica_cluster(primary, dr, cluster)
        destination = _seed_replicated_bucket(primary, dr, bucket)
        zone_id = _seed_weighted_records(primary, hosted_zone, api_record, api_addresses, api_ttl_s)
    finally:
        primary.close()
        dr.close()
    return SeededControlPlane(cluster, instances, replica, bucket, destination, zone_id, api_record)


def replica_cluster_name(cluster: str, region: str) -> str:
    return f"{cluster}-{region}"


def seed_replica_cluster(primary: CloudControlPlane, dr: CloudControlPlane, cluster: str) -> str:
    """The cluster's read replica cluster in `dr`'s region, replicating it (again, after a
    promotion: its record is replaced)."""
    replica = replica_cluster_name(cluster, dr.region)
    source = primary.call(
        "rds", "describe_db_clusters", f"cluster {cluster}", DBClusterIdentifier=cluster
    )["DBClusters"][0]["DBClusterArn"]
    if replica in {found["DBClusterIdentifier"] for found in _clusters(dr)}:
        _delete_cluster(dr, replica)
    dr.call(
        "rds",
        "create_db_cluster",
        f"cluster {replica}",
        DBClusterIdentifier=replica,
        Engine="aurora-postgresql",
        MasterUsername="glancy",  # moto asks for it; AWS takes the source's
        ManageMasterUserPassword=True,
        ReplicationSourceIdentifier=source,
    )
    return replica


def _delete_cluster(plane: CloudControlPlane, cluster: str) -> None:
    """The cluster and its automated snapshots, as AWS deletes them with it (moto keeps them,
    and a cluster made again the same minute would collide with its own first snapshot)."""
    snapshots = plane.call(
        "rds", "describe_db_cluster_snapshots", f"cluster {cluster}",
        DBClusterIdentifier=cluster, SnapshotType="automated",
    )["DBClusterSnapshots"]  # fmt: skip
    plane.call(
        "rds", "delete_db_cluster", f"cluster {cluster}",
        DBClusterIdentifier=cluster, SkipFinalSnapshot=True,
    )  # fmt: skip
    for snapshot in snapshots:
        name = snapshot["DBClusterSnapshotIdentifier"]
        plane.call(
            "rds", "delete_db_cluster_snapshot", f"snapshot {name}",
            DBClusterSnapshotIdentifier=name,
        )  # fmt: skip


def _clusters(plane: CloudControlPlane) -> list[dict]:
    return plane.call("rds", "describe_db_clusters", "clusters")["DBClusters"]


def _seed_cluster(plane: CloudControlPlane, cluster: str, zones: Sequence[str]) -> dict[str, str]:
    plane.call(
        "rds",
        "create_db_cluster",
        f"cluster {cluster}",
        DBClusterIdentifier=cluster,
        Engine="aurora-postgresql",
        MasterUsername="glancy",
        # no password to make up and keep: AWS (here moto) keeps it in Secrets Manager
        ManageMasterUserPassword=True,
        AvailabilityZones=[aws_zone(plane.region, zone) for zone in zones],
    )
    instances = {}
    for zone in zones:  # in order: Aurora makes the first instance of a cluster its writer
        instance = f"{cluster}-{zone}"
        plane.call(
            "rds",
            "create_db_instance",
            f"instance {instance}",
            DBInstanceIdentifier=instance,
            DBClusterIdentifier=cluster,
            Engine="aurora-postgresql",
            DBInstanceClass="db.r6g.large",
            AvailabilityZone=aws_zone(plane.region, zone),
            Tags=[{"Key": ZONE_TAG, "Value": zone}],
        )
        instances[zone] = instance
    return instances


def _seed_replicated_bucket(primary: CloudControlPlane, dr: CloudControlPlane, bucket: str) -> str:
    dr_bucket = f"{bucket}-{dr.region}"
    for plane, name in ((primary, bucket), (dr, dr_bucket)):
        plane.call(
            "s3",
            "create_bucket",
            f"bucket {name}",
            Bucket=name,
            CreateBucketConfiguration={"LocationConstraint": plane.region},
        )
        # S3 refuses a replication rule unless both ends are versioned
        plane.call(
            "s3",
            "put_bucket_versioning",
            f"bucket {name}",
            Bucket=name,
            VersioningConfiguration={"Status": "Enabled"},
        )
    destination = f"arn:aws:s3:::{dr_bucket}"
    primary.call(
        "s3",
        "put_bucket_replication",
        f"bucket {bucket}",
        Bucket=bucket,
        ReplicationConfiguration={
            "Role": f"arn:aws:iam::{ACCOUNT}:role/{bucket}-replication",
            "Rules": [
                {
                    "ID": f"{bucket}-to-{dr.region}",
                    "Priority": 1,
                    "Status": "Enabled",
                    "Filter": {"Prefix": ""},
                    "DeleteMarkerReplication": {"Status": "Enabled"},
                    "Destination": {"Bucket": destination},
                }
            ],
        },
    )
    return destination


def _seed_weighted_records(
    plane: CloudControlPlane,
    hosted_zone: str,
    record: str,
    addresses: Mapping[str, str],
    ttl_s: int,
) -> str:
    zone_id = plane.call(
        "route53",
        "create_hosted_zone",
        f"zone {hosted_zone}",
        Name=hosted_zone,
        CallerReference=f"drillbook-{hosted_zone}",
    )["HostedZone"]["Id"]
    plane.call(
        "route53",
        "change_resource_record_sets",
        f"record {record} in zone {hosted_zone}",
        HostedZoneId=zone_id,
        ChangeBatch={
            "Changes": [
                {
                    "Action": "UPSERT",
                    "ResourceRecordSet": {
                        "Name": record,
                        "Type": "A",
                        "SetIdentifier": region,
                        # the primary region takes all traffic until a cutover moves the weight
                        "Weight": 100 if region == plane.region else 0,
                        "TTL": ttl_s,
                        "ResourceRecords": [{"Value": address}],
                    },
                }
                for region, address in addresses.items()
            ]
        },
    )
    return zone_id
