"""The platform capability over a Kubernetes cluster, the same in every environment.

The embedded cluster and a live one are driven by the same calls (drillbook.platform.
kubernetes); what differs is recovery after a killed run. The embedded cluster goes with its
stack, so its faults need no recover op. A live cluster outlives the run: each fault's recover
op names the kubeconfig and context (a path and a name, never a credential) and what to put
back, and the next run puts it back through the same cluster.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import partial
from typing import Any

from drillbook.capabilities.operation import Operation, fault, remediation
from drillbook.faults.recover import recover_op
from drillbook.platform.kubernetes import Cluster, ClusterError, cluster_from_kubeconfig


class ClusterPlatform:
    def __init__(
        self,
        cluster: Callable[[], Cluster],
        rollout_timeout_s: float,
        kubeconfig: dict[str, Any] | None = None,
        regions: Mapping[str, Callable[[], Cluster]] | None = None,
    ) -> None:
        """`cluster` gives the cluster when first used (the embedded one exists once its stack
        is up). `kubeconfig`: {"kubeconfig": path, "context": name or None} of a cluster that
        outlives the run, recorded in each fault's recover op; None for the embedded one.
        `regions`: each region's cluster, for what is read in a region by name."""
        self._cluster_of = cluster
        self.rollout_timeout_s = rollout_timeout_s
        self.kubeconfig = kubeconfig
        self.regions = dict(regions or {})

    @property
    def cluster(self) -> Cluster:
        return self._cluster_of()

    def app_pods(self, app: str, region: str) -> list[dict]:
        if region not in self.regions:
            known = ", ".join(self.regions) or "none"
            raise ClusterError(f"no Kubernetes cluster of region {region!r}; regions: {known}")
        return self.regions[region]().app_pods(app)

    def _recover(self, op: str, **params: Any) -> dict[str, Any] | None:
        if self.kubeconfig is None:
            return None
        return {"op": op, **self.kubeconfig, **params}

    def cordon_zone(self, zone: str) -> Operation[list[str]]:
        cluster = self.cluster
        cordoned = cluster.unschedulable(cluster.zone_nodes(zone))
        # a node cordoned before the drill stays so: the revert uncordons only ours
        nodes = [node for node, already in cordoned.items() if not already]

        def run() -> list[str]:
            cluster.set_unschedulable(nodes, True)
            return nodes

        return fault(
            "cordon",
            f"nodes of {zone}",
            run,
            partial(self._uncordon, zone, nodes),
            recover=self._recover("kubernetes-uncordon", nodes=nodes),
            zone=zone,
            nodes=nodes,
        )

    def scale_zone(self, namespace: str, zone: str, replicas: int) -> Operation[dict[str, int]]:
        before = self.cluster.zone_deployments(namespace, zone)

        def run() -> dict[str, int]:
            self.cluster.scale(namespace, {name: replicas for name in before})
            return before

        return fault(
            f"scale to {replicas}",
            f"deployments of {zone} in {namespace}",
            run,
            partial(self._scale_back, namespace, zone, before),
            recover=self._recover("kubernetes-scale", namespace=namespace, replicas=before),
            zone=zone,
            replicas=replicas,
            before=before,
        )

    def _uncordon(self, zone: str, nodes: list[str]) -> None:
        """Uncordoned, then every Deployment of the zone available again: Pods that waited
        for the cordon to end (a scale-back reverted before it) land now."""
        self.cluster.set_unschedulable(nodes, False)
        if nodes:  # none cordoned by the drill: nothing waited for it
            self._wait_available(zone)

    def _scale_back(self, namespace: str, zone: str, replicas: dict[str, int]) -> None:
        """Scaled back and, unless every node of the zone is cordoned (its uncordon then
        waits), every replica available again, so the next step sees the zone."""
        self.cluster.scale(namespace, replicas)
        if not all(self.cluster.unschedulable(self.cluster.zone_nodes(zone)).values()):
            self._wait_available(zone)

    def _wait_available(self, zone: str) -> None:
        for namespace, names in self.cluster.all_zone_deployments(zone).items():
            for name in names:
                self.cluster.wait_rollout(namespace, name, self.rollout_timeout_s)

    def restart(self, namespace: str, app: str) -> Operation[list[dict]]:
        names = self.cluster.deployments_of(namespace, app)

        return remediation(
            "rollout restart",
            f"deployment {app} in {namespace}",
            partial(self.cluster.restart_rollouts, namespace, names, self.rollout_timeout_s),
            deployments=names,
        )

    def pods_not_ready_outside(self, zone: str) -> tuple[list[str], int]:
        return self.cluster.pods_not_ready_outside(zone)


def _cluster(params: dict[str, Any]) -> Cluster:
    return cluster_from_kubeconfig(params["kubeconfig"], params.get("context"))


@recover_op("kubernetes-uncordon")
def uncordon(params: dict[str, Any]) -> str:
    """{"kubeconfig", "context", "nodes"}: the nodes a killed run cordoned, uncordoned."""
    _cluster(params).set_unschedulable(params["nodes"], False)
    return f"uncordoned {', '.join(params['nodes']) or 'no node'}"


@recover_op("kubernetes-scale")
def scale_back(params: dict[str, Any]) -> str:
    """{"kubeconfig", "context", "namespace", "replicas"}: Deployments scaled back."""
    _cluster(params).scale(params["namespace"], params["replicas"])
    scaled = ", ".join(f"{name}={n}" for name, n in params["replicas"].items())
    return f"scaled back in {params['namespace']}: {scaled}"
