"""What runbook 5.1 reads of a cluster: whether a rollout is done, which Pods outside a zone
are not Ready, where a Service's traffic goes, and the wait on every Pod outside a zone."""

from __future__ import annotations

import pytest

from drillbook.checks.replicas import ready_replicas
from drillbook.conditions import resolve
from drillbook.environments.cluster_platform import ClusterPlatform
from drillbook.platform.kubernetes import (
    ClusterError,
    pods_not_ready_outside,
    ready_backends,
    rollout_state,
)
from drillbook.workload import History
from steps import platform
from tests.drills import make_drill

NODE_ZONES = {"node-az-a": "az-a", "node-az-b": "az-b"}


def deployment(
    *,
    replicas: int = 2,
    generation: int = 2,
    observed: int = 2,
    updated: int = 2,
    total: int = 2,
    available: int = 2,
    conditions: list[dict] | None = None,
) -> dict:
    """A Deployment as the API serves it (sanitized to plain data)."""
    return {
        "metadata": {"name": "lookup-bff-az-a", "namespace": "prod", "generation": generation},
        "spec": {"replicas": replicas},
        "status": {
            "observedGeneration": observed,
            "updatedReplicas": updated,
            "replicas": total,
            "availableReplicas": available,
            "conditions": conditions or [],
        },
    }


@pytest.mark.parametrize(
    ("changes", "why"),
    [
        ({"generation": 3}, "the controller has not seen the latest spec yet"),
        ({"updated": 1, "total": 3}, "1 of 2 replicas updated"),
        ({"total": 3}, "1 old replicas pending termination"),
        ({"available": 1}, "1 of 2 updated replicas available"),
    ],
    ids=["spec-not-observed", "not-all-updated", "old-replica-left", "not-all-available"],
)
def test_a_rollout_in_progress_is_not_done_and_says_why(changes, why):
    assert rollout_state(deployment(**changes)) == (False, why)


def test_a_rollout_is_done_once_every_replica_is_updated_and_available():
    assert rollout_state(deployment()) == (True, "2 replicas updated and available")


def test_a_new_deployment_without_status_is_not_done():
    created = {"metadata": {"name": "d", "generation": 1}, "spec": {"replicas": 1}}
    assert rollout_state(created) == (False, "the controller has not seen the latest spec yet")


def test_a_deployment_without_replicas_wants_one():
    one = deployment(updated=1, total=1, available=1)
    del one["spec"]["replicas"]
    assert rollout_state(one) == (True, "1 replicas updated and available")
    assert rollout_state(deployment(updated=0, total=0, available=0) | {"spec": {}}) == (
        False,
        "0 of 1 replicas updated",
    )


def test_a_deployment_scaled_to_zero_is_done_once_its_replicas_are_gone():
    assert rollout_state(deployment(replicas=0, updated=0, total=1, available=0)) == (
        False,
        "1 old replicas pending termination",
    )
    assert rollout_state(deployment(replicas=0, updated=0, total=0, available=0))[0]


def test_a_rollout_past_its_progress_deadline_raises_naming_the_deployment():
    stuck = {
        "type": "Progressing",
        "status": "False",
        "reason": "ProgressDeadlineExceeded",
        "message": 'ReplicaSet "lookup-bff-az-a-5d9" has timed out progressing.',
    }
    with pytest.raises(ClusterError) as raised:
        rollout_state(deployment(available=1, conditions=[stuck]))
    message = str(raised.value)
    assert message.startswith("deployment lookup-bff-az-a: ")
    assert "has timed out progressing" in message


def test_a_deadline_of_an_older_spec_does_not_fail_the_new_rollout():
    """The controller has not looked at the new spec: its old condition says nothing of it."""
    stuck = {"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded"}
    assert rollout_state(deployment(generation=3, conditions=[stuck])) == (
        False,
        "the controller has not seen the latest spec yet",
    )


def test_other_conditions_do_not_fail_a_rollout():
    progressing = {"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable"}
    available = {"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable"}
    assert rollout_state(deployment(conditions=[progressing, available]))[0]


def pod(
    name: str,
    node: str | None,
    *,
    ready: str | None = "True",
    terminating: bool = False,
    namespace: str = "prod",
) -> dict:
    """A Pod as the API serves it: bound to `node` (None: not scheduled yet)."""
    metadata: dict = {"name": name, "namespace": namespace}
    if terminating:
        metadata["deletionTimestamp"] = "2026-01-02T03:04:05Z"
    status = {} if ready is None else {"conditions": [{"type": "Ready", "status": ready}]}
    spec = {} if node is None else {"nodeName": node}
    return {"metadata": metadata, "spec": spec, "status": status}


def test_pods_in_the_zone_are_ignored_whatever_their_state():
    pods = [
        pod("a-down", "node-az-a", ready="False"),
        pod("a-going", "node-az-a", terminating=True),
        pod("b-up", "node-az-b"),
    ]
    assert pods_not_ready_outside(pods, NODE_ZONES, "az-a") == []


def test_pods_not_scheduled_yet_are_ignored():
    assert pods_not_ready_outside([pod("pending", None, ready=None)], NODE_ZONES, "az-a") == []


def test_pods_outside_the_zone_not_ready_or_terminating_are_listed():
    pods = [
        pod("b-up", "node-az-b"),
        pod("b-down", "node-az-b", ready="False"),
        pod("b-new", "node-az-b", ready=None),
        pod("b-going", "node-az-b", terminating=True),
        pod("dns", "node-az-b", ready="False", namespace="kube-system"),
        pod("a-down", "node-az-a", ready="False"),
    ]
    assert pods_not_ready_outside(pods, NODE_ZONES, "az-a") == [
        "prod/b-down (not Ready)",
        "prod/b-new (not Ready)",
        "prod/b-going (terminating)",
        "kube-system/dns (not Ready)",
    ]


def test_which_pods_are_outside_depends_on_the_zone_asked_about():
    pods = [pod("a-down", "node-az-a", ready="False"), pod("b-down", "node-az-b", ready="False")]
    assert pods_not_ready_outside(pods, NODE_ZONES, "az-b") == ["prod/a-down (not Ready)"]


def endpoint(address: str, ready: bool | None) -> dict:
    conditions = {} if ready is None else {"ready": ready, "serving": True}
    return {"addresses": [address], "conditions": conditions}


def test_ready_endpoints_are_backends_and_an_unset_condition_counts_as_ready():
    """The API's rule for consumers: a nil `ready` is an unknown state, taken as ready."""
    endpoint_slice = {
        "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}],
        "endpoints": [
            endpoint("10.0.0.2", True),
            endpoint("10.0.0.3", False),
            endpoint("10.0.0.4", None),
        ],
    }
    assert ready_backends([endpoint_slice]) == ["10.0.0.2:8080", "10.0.0.4:8080"]


def test_every_port_of_a_ready_endpoint_is_a_backend():
    endpoint_slice = {
        "ports": [{"name": "http", "port": 8080}, {"name": "admin", "port": 9090}],
        "endpoints": [endpoint("10.0.0.2", True)],
    }
    assert ready_backends([endpoint_slice]) == ["10.0.0.2:8080", "10.0.0.2:9090"]


def test_a_slice_without_ports_gives_no_backend():
    assert ready_backends([{"ports": None, "endpoints": [endpoint("10.0.0.2", True)]}]) == []
    assert ready_backends([{"endpoints": [endpoint("10.0.0.2", True)]}]) == []


def test_backends_of_several_slices_are_merged_and_sorted():
    slices = [
        {"ports": [{"port": 8080}], "endpoints": [endpoint("10.0.0.9", True)]},
        {"ports": [{"port": 8080}], "endpoints": None},
        {
            "ports": [{"port": 8080}],
            "endpoints": [endpoint("10.0.0.3", True), endpoint("10.0.0.9", True)],
        },
    ]
    assert ready_backends(slices) == ["10.0.0.3:8080", "10.0.0.9:8080"]
    assert ready_backends(list(reversed(slices))) == ["10.0.0.3:8080", "10.0.0.9:8080"]


def test_no_slice_no_backend():
    assert ready_backends([]) == []


class Pods:
    """The platform capability as the condition sees it: Pods outside a zone."""

    def __init__(self, waiting: list[str], outside: int) -> None:
        self.answer = (waiting, outside)
        self.asked: list[str] = []

    def pods_not_ready_outside(self, zone: str) -> tuple[list[str], int]:
        self.asked.append(zone)
        return self.answer


def poll_of(platform_: Pods, tmp_path) -> tuple[bool, str]:
    func, params = resolve("every pod outside az-a is Ready")
    assert func is platform.pods_ready_outside and params == {"zone": "az-a"}
    done, seen = func(make_drill(History(), tmp_path), platform_, **params)()
    assert platform_.asked == ["az-a"]
    return done, seen


def test_no_pod_outside_the_zone_is_never_a_pass(tmp_path):
    assert poll_of(Pods([], 0), tmp_path) == (False, "no pod runs outside az-a")


def test_pods_outside_the_zone_not_ready_are_named(tmp_path):
    waiting = ["prod/lookup-bff-az-b-1 (not Ready)", "prod/lookup-bff-az-b-2 (terminating)"]
    done, seen = poll_of(Pods(waiting, 3), tmp_path)
    assert not done
    assert seen.startswith("2 of 3 pods outside az-a not Ready: ")
    assert all(name in seen for name in waiting)


def test_every_pod_outside_the_zone_ready_is_done(tmp_path):
    assert poll_of(Pods([], 2), tmp_path) == (True, "all 2 pods outside az-a Ready")


def test_a_finished_pod_outside_the_zone_is_not_waited_for():
    done = pod("job-done", "node-az-b", ready="False")
    done["status"]["phase"] = "Succeeded"
    assert pods_not_ready_outside([done], NODE_ZONES, "az-a") == []


def test_the_standby_region_with_enough_ready_replicas_passes_the_pre_check():
    pods = [pod("a", "node-x", ready="True"), pod("b", "node-x", ready="True")]
    result = ready_replicas("lookup-bff", "ap-northeast-1", pods, 2)
    assert result.passed and result.figure == 2
    assert result.explanation == (
        "2 Ready replicas of lookup-bff in ap-northeast-1 (prod/a, prod/b)"
    )


def test_replicas_not_ready_or_terminating_do_not_count_and_are_named():
    pods = [
        pod("a", "node-x", ready="True"),
        pod("b", "node-x", ready="False"),
        pod("c", "node-x", ready="True", terminating=True),
    ]
    result = ready_replicas("lookup-bff", "ap-northeast-1", pods, 2)
    assert not result.passed and result.figure == 1
    assert result.explanation == (
        "only 1 Ready replicas of lookup-bff in ap-northeast-1 (prod/a); not serving: "
        "prod/b (not Ready), prod/c (terminating), fewer than 2"
    )


def test_no_replica_at_all_fails_the_pre_check():
    result = ready_replicas("lookup-bff", "ap-northeast-1", [], 2)
    assert not result.passed and "only 0 Ready replicas of lookup-bff" in result.explanation


def test_a_region_without_a_cluster_is_refused_naming_the_known_ones():
    platform_ = ClusterPlatform(lambda: None, 1.0, regions={"ap-southeast-1": lambda: None})
    with pytest.raises(ClusterError, match="region 'eu-west-1'; regions: ap-southeast-1"):
        platform_.app_pods("lookup-bff", "eu-west-1")
