"""Runbook 5.1 on the embedded Kubernetes: a zone drained by cordon and scale-down, a rollout
restart, recovery of a killed run's faults on a cluster that outlives it, and an interrupted
drill that puts the zone back."""

from __future__ import annotations

import json
import signal
import threading
import time
from collections.abc import Callable, Iterator
from functools import partial

import pytest
from kubernetes import client

from drillbook.checks import sla
from drillbook.environments.cluster_platform import ClusterPlatform
from drillbook.faults.recover import run_recover
from drillbook.platform.kubernetes import ZONE_LABEL, Cluster, cluster_from_kubeconfig
from drillbook.stack import LocalStack
from drillbook.stack.kubernetes import KUBE_CONTEXT, node_name
from drillbook.stack.service import NAME, NAMESPACE, PORT, deployment_name
from drillbook.waits import wait_until
from drillbook.workload import History, HttpProbe, Workload
from steps.platform import pods_ready_outside
from tests.drills import (
    interrupted_drill,
    journal_events,
    ledger_entries,
    make_drill,
    processes_under,
    run_dir_of,
)

pytestmark = [pytest.mark.integration, pytest.mark.timeout(240)]

ROLLOUT_S = 60.0
# Long enough for a Pod to be scheduled, started and found Ready, or to finish its preStop.
SETTLE_S = 30.0
API_TIMEOUT_S = 5.0
# Requests the probes send while az-a is drained, all answered through az-b.
SERVED = 20

DRAIN = """@destructive
Feature: a zone drained, interrupted
  Scenario: drain az-a
    Given the reference service is up
    And probes call "/lookup" every 100 ms
    When the nodes of az-a are cordoned
    And the Deployments of az-a in "prod" are scaled to 0
    And the workload runs for 120 more seconds
"""


def quiet(_line: str) -> None:
    pass


def pods(stack: LocalStack) -> list[client.V1Pod]:
    core = client.CoreV1Api(stack.kube.api)
    return core.list_namespaced_pod(NAMESPACE, _request_timeout=API_TIMEOUT_S).items


def ready(pod: client.V1Pod) -> bool:
    conditions = {c.type: c.status for c in pod.status.conditions or []}
    return conditions.get("Ready") == "True" and pod.metadata.deletion_timestamp is None


def backends_of(stack: LocalStack, zone: str) -> list[str]:
    """host:port of the zone's Ready Pods, as the router names its backends."""
    return sorted(
        f"{pod.status.pod_ip}:{PORT}"
        for pod in pods(stack)
        if pod.metadata.labels.get(ZONE_LABEL) == zone and ready(pod)
    )


def on_node(stack: LocalStack, node: str) -> list[str]:
    return [pod.metadata.name for pod in pods(stack) if pod.spec.node_name == node]


def probes(stack: LocalStack, history: History) -> Workload:
    """Clients of the service through the router, as in test_release."""
    workload = Workload(history)
    for user in ("a", "b"):
        params = {"word": "w", "user": user}
        workload.add(HttpProbe(history, stack.service.url, "/lookup", 0.02, params=params))
    return workload


def every_zone_serving(stack: LocalStack) -> tuple[bool, object]:
    """The router sends traffic to exactly the Ready Pods, the Deployments' count of them,
    in every zone, and no Pod is left terminating."""
    wanted = {zone: stack.service.replicas_per_zone for zone in stack.kube.zones}
    listed = pods(stack)
    zones = {zone: backends_of(stack, zone) for zone in stack.kube.zones}
    done = (
        {zone: len(found) for zone, found in zones.items()} == wanted
        and sorted(b for found in zones.values() for b in found) == stack.service.router.backends
        and len(listed) == sum(wanted.values())
    )
    return done, {"router": stack.service.router.backends, "ready by zone": zones}


@pytest.fixture
def cluster(stack: LocalStack) -> Iterator[Cluster]:
    """The stack's cluster, put back as the module found it whatever the test did: every node
    schedulable, each zone's replicas behind the router."""
    cluster = stack.kube.cluster
    assert every_zone_serving(stack)[0], "the stack was not serving from every zone"
    yield cluster
    cluster.set_unschedulable([node_name(zone) for zone in stack.kube.zones], False)
    replicas = stack.service.replicas_per_zone
    cluster.scale(NAMESPACE, {deployment_name(zone): replicas for zone in stack.kube.zones})
    wait_until("every zone serving", partial(every_zone_serving, stack), SETTLE_S, progress=quiet)


class Sampler:
    """Polls a condition in the background until stopped, keeping every answer."""

    def __init__(self, poll: Callable[[], tuple[bool, object]], interval_s: float = 0.5) -> None:
        self.poll = poll
        self.interval_s = interval_s
        self.answers: list[tuple[bool, object]] = []
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sampler", daemon=True)

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                self.answers.append(self.poll())
            except Exception as exc:  # an error is an answer too, and not a done one
                self.answers.append((False, f"{type(exc).__name__}: {exc}"))
            self._stopping.wait(self.interval_s)

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stopping.set()
        self._thread.join(timeout=API_TIMEOUT_S * 2)


def test_an_interrupted_drill_uncordons_and_scales_the_zone_back(tmp_path):
    """Its own stack, in the drill's process: first, before the module's stack is up."""
    feature = tmp_path / "drain.feature"
    feature.write_text(DRAIN)
    reports = tmp_path / "reports"
    output = interrupted_drill(feature, reports, signal.SIGTERM, once='"scale to 0"')
    journal = reports / "fault-journal.jsonl"
    faults = [(e, k) for e, k in journal_events(reports) if k != "local stack"]
    assert faults == [
        ("inject", "cordon"),
        ("inject", "scale to 0"),
        ("revert", "scale to 0"),
        ("revert", "cordon"),
    ], output[-3000:]
    lines = [json.loads(line) for line in journal.read_text().splitlines()]
    errors = [(x["kind"], x["revert_error"]) for x in lines if x["event"] == "revert"]
    assert errors == [("scale to 0", None), ("cordon", None)], output[-3000:]
    assert "local stack stopped" in output
    assert processes_under(run_dir_of(output)) == ""
    [entry] = ledger_entries(reports)
    assert entry["verdict"] == "aborted", entry
    assert "cordon on nodes of az-a" in entry["aborted"].partition("; reverted: ")[2], entry
    assert "scale to 0 on deployments of az-a in prod" in entry["aborted"], entry


def test_a_drained_zone_leaves_the_traffic_path_and_comes_back(stack, cluster, tmp_path):
    platform = ClusterPlatform(lambda: stack.kube.cluster, ROLLOUT_S)
    zone_b = backends_of(stack, "az-b")
    history = History()
    outside_ready = pods_ready_outside(make_drill(History(), tmp_path), platform, "az-a")
    with Sampler(outside_ready) as outside, probes(stack, history):
        cordon = platform.cordon_zone("az-a")
        assert cordon.run() == [node_name("az-a")]
        assert cluster.unschedulable([node_name("az-a")]) == {node_name("az-a"): True}
        scale = platform.scale_zone(NAMESPACE, "az-a", 0)
        assert scale.run() == {deployment_name("az-a"): 1}

        def drained() -> tuple[bool, object]:
            running = on_node(stack, node_name("az-a"))
            return stack.service.router.backends == zone_b and not running, (
                f"router {stack.service.router.backends}, on node-az-a {running}"
            )

        wait_until("az-a drained", drained, SETTLE_S, progress=quiet)
        drained_at = time.time()
        assert backends_of(stack, "az-b") == zone_b  # az-b's Pods were never touched

        def served_by_b() -> tuple[bool, object]:
            count = len([op for op in history.ops(prefix="probe:") if op.start >= drained_at])
            return count >= SERVED, f"{count} requests"

        wait_until(f"{SERVED} requests served by az-b alone", served_by_b, 10, progress=quiet)
        reverting_at = time.time()

        scale.revert()
        cordon.revert()
        assert backends_of(stack, "az-a"), "the uncordon returned before az-a was Ready"

        def zone_a_back() -> tuple[bool, object]:
            zone_a = backends_of(stack, "az-a")
            back = bool(zone_a) and set(zone_a) <= set(stack.service.router.backends)
            return back, f"az-a ready {zone_a}, router {stack.service.router.backends}"

        wait_until("an az-a Pod behind the router", zone_a_back, SETTLE_S, progress=quiet)
    assert cluster.unschedulable([node_name("az-a")]) == {node_name("az-a"): False}
    assert cluster.zone_deployments(NAMESPACE, "az-a") == {deployment_name("az-a"): 1}
    result = sla(history, 100.0)
    assert result.passed, result.explanation
    served = sla(history, 100.0, start=drained_at, end=reverting_at)
    assert served.passed and served.details["operations"] >= SERVED, served.explanation
    not_done = [seen for done, seen in outside.answers if not done]
    assert len(outside.answers) >= 5 and not not_done, not_done[:3]


def test_a_rollout_restart_replaces_every_pod_without_a_failed_request(stack, cluster):
    platform = ClusterPlatform(lambda: stack.kube.cluster, ROLLOUT_S)
    before = {pod.metadata.uid: (pod.metadata.name, pod.status.pod_ip) for pod in pods(stack)}
    restart = platform.restart(NAMESPACE, NAME)
    assert restart.role == "remediation" and restart.revert is None
    assert restart.detail == {"deployments": [deployment_name("az-a"), deployment_name("az-b")]}
    history = History()
    with probes(stack, history):
        rollouts = restart.run()
        # the old Pods leave the traffic path, then stop, while the probes still run
        serving = partial(every_zone_serving, stack)
        wait_until("only new Pods serving", serving, SETTLE_S, progress=quiet)
    assert [r["deployment"] for r in rollouts] == [deployment_name("az-a"), deployment_name("az-b")]
    assert all(0 < r["took_s"] < ROLLOUT_S for r in rollouts), rollouts
    after = {pod.metadata.uid: (pod.metadata.name, pod.status.pod_ip) for pod in pods(stack)}
    assert len(after) == len(before) == 2
    assert not set(after) & set(before), "a Pod was kept"
    assert not {n for n, _ in after.values()} & {n for n, _ in before.values()}
    assert not {ip for _, ip in after.values()} & {ip for _, ip in before.values()}
    assert sorted(f"{ip}:{PORT}" for _, ip in after.values()) == stack.service.router.backends
    result = sla(history, 100.0)
    assert result.passed, result.explanation
    assert result.details["operations"] > 100


def test_a_killed_runs_zone_faults_are_recovered_from_the_journal_alone(stack, cluster):
    kubeconfig = {"kubeconfig": str(stack.kube.kubeconfig), "context": KUBE_CONTEXT}
    remote = cluster_from_kubeconfig(kubeconfig["kubeconfig"], KUBE_CONTEXT, progress=quiet)
    platform = ClusterPlatform(lambda: remote, ROLLOUT_S, kubeconfig=kubeconfig)
    try:
        cordon = platform.cordon_zone("az-a")
        scale = platform.scale_zone(NAMESPACE, "az-a", 0)
        cordon.run()
        scale.run()
    finally:
        remote.api.close()
    # the run is killed here: nothing is reverted, the zone stays drained
    wait_until(
        "az-a drained",
        lambda: (not on_node(stack, node_name("az-a")), None),
        SETTLE_S,
        progress=quiet,
    )
    assert cordon.recover == {
        "op": "kubernetes-uncordon",
        **kubeconfig,
        "nodes": [node_name("az-a")],
    }
    assert scale.recover == {
        "op": "kubernetes-scale",
        **kubeconfig,
        "namespace": NAMESPACE,
        "replicas": {deployment_name("az-a"): 1},
    }
    journaled = [json.dumps(op.recover) for op in (cordon, scale)]
    secrets = [user.token for user in stack.kube.users.values()]
    assert not [s for s in secrets if any(s in line for line in journaled)], "a token is journaled"

    # the next run, newest first, from what the journal holds
    done = [run_recover(json.loads(line)) for line in reversed(journaled)]
    assert done == [
        f"scaled back in {NAMESPACE}: {deployment_name('az-a')}=1",
        f"uncordoned {node_name('az-a')}",
    ]
    assert cluster.unschedulable([node_name("az-a")]) == {node_name("az-a"): False}
    wait_until("every zone serving", partial(every_zone_serving, stack), SETTLE_S, progress=quiet)
