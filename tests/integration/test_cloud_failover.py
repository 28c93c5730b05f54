"""An RDS cluster failover on the embedded stack moves the record and the real primary
together, and the service with them; probes measure its RTO."""

from __future__ import annotations

import time

import pytest
from psycopg.conninfo import conninfo_to_dict

from drillbook.checks import rto, sla
from drillbook.environments.local.cloud import LocalCloud
from drillbook.stack import LocalStack
from drillbook.workload import History, HttpProbe, Workload

pytestmark = [pytest.mark.integration, pytest.mark.timeout(240)]

CLUSTER = "glancy-main"


def probed(stack: LocalStack, history: History) -> Workload:
    workload = Workload(history)
    workload.add(HttpProbe(history, stack.service.url, "/history", 0.02, params={"user": "rds"}))
    return workload


def test_a_failover_moves_the_writer_record_and_the_real_primary_together(stack: LocalStack):
    cloud = LocalCloud(stack)
    assert cloud.cluster_writer(CLUSTER) == {"instance": "glancy-main-az-a", "zone": "az-a"}
    history = History()
    workload = probed(stack, history)
    workload.start()
    try:
        time.sleep(1)
        failover = cloud.fail_over(CLUSTER)
        t0 = time.time()
        moved = failover.run()
        # the RTO needs full windows after T0: 100 probes of 20 ms each, and some to spare
        time.sleep(5)
    finally:
        workload.stop()
    try:
        assert (moved["from_zone"], moved["to_zone"]) == ("az-a", "az-b")
        assert cloud.cluster_writer(CLUSTER) == {"instance": "glancy-main-az-b", "zone": "az-b"}
        assert stack.pg.primary.name == "az-b" and not stack.pg.node("az-a").running
        port = conninfo_to_dict(stack.pg.node("az-b").app_dsn)["port"]
        assert f":{port}/" in stack.service.database()["database"]  # every replica agrees
        result = rto(history, t0, 1800)
        assert result.measured and result.passed, result.explanation
        print(f"RDS failover RTO {result.shown}, SLA {sla(history, 0).shown}")
    finally:
        failover.revert()
    assert cloud.cluster_writer(CLUSTER)["zone"] == "az-a"
    assert stack.pg.primary.name == "az-a" and stack.pg.node("az-b").is_in_recovery()
