"""The local cloud: the moto server's records, kept in step with the real local topology.

moto only flips which instance of `glancy-main` it calls the writer. A failover here does
what Aurora does for a Multi-AZ cluster, on the real PostgreSQL pair: the writer's node goes
down (a clean stop, which streams every WAL record to the standby first), the reader's node
is promoted, the record moves to it and the service connects to it, as it would through the
cluster endpoint. Reverted by restoring the topology and failing the record back.
"""

from __future__ import annotations

import functools
from dataclasses import replace

from drillbook.capabilities.operation import Operation
from drillbook.drill import DrillError
from drillbook.environments.aws_cloud import AwsCloud
from drillbook.environments.local.heal import heal_database
from drillbook.evidence.signals import NAMESPACE
from drillbook.platform.cloud import CloudControlPlane
from drillbook.stack import LocalStack


class LocalCloud(AwsCloud):
    # the moto server goes with its stack after a SIGKILL: nothing of it to put back
    outlives_run = False

    def __init__(self, stack: LocalStack) -> None:
        self.stack = stack
        # made when first used: the moto server listens once the stack is up
        plane = functools.cache(
            lambda: CloudControlPlane(stack.storage.primary.region, stack.aws.endpoint_url)
        )
        # moto moves the writer and promotes a replica at once
        super().__init__(
            plane, failover_wait_s=0.0, metrics_namespace=NAMESPACE, promote_wait_s=0.0
        )

    def fail_over(self, cluster: str) -> Operation[dict]:
        record = super().fail_over(cluster)
        plan = record.detail
        pg = self.stack.pg
        if pg.primary.name != plan["from_zone"]:
            raise DrillError(
                f"cluster {cluster}: the record's writer is in {plan['from_zone']} but the "
                f"real primary is {pg.primary.name}; heal the topology first"
            )

        def run() -> dict:
            old, new = pg.node(plan["from_zone"]), pg.node(plan["to_zone"])
            old.stop("fast")
            new.promote()
            answer = record.run()
            self.stack.service.switch_database(new.app_dsn)
            return answer

        def revert() -> None:
            heal_database(self.stack)
            record.revert()

        return replace(record, run=run, revert=revert)

    def fail_over_region(self, cluster: str, region: str) -> Operation[dict]:
        """moto's record only: the takeover promoted the region's real database. Reverted by
        seeding the replica cluster again, as the stack's seeding made it."""
        record = super().fail_over_region(cluster, region)
        return replace(record, revert=self.stack.rejoin_replica_cluster)
