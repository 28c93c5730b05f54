"""The platform the service runs on: its Kubernetes cluster, as runbook 5.1 acts on it."""

from __future__ import annotations

from typing import Protocol

from drillbook.capabilities.operation import Operation


class Platform(Protocol):
    """Zones are the nodes' `topology.kubernetes.io/zone` label ("az-a", "az-b")."""

    def cordon_zone(self, zone: str) -> Operation[list[str]]:
        """`kubectl cordon` every node of `zone`: no new Pod lands there. Reverted by
        uncordoning the nodes it cordoned. Its result: those nodes."""
        ...

    def scale_zone(self, namespace: str, zone: str, replicas: int) -> Operation[dict[str, int]]:
        """`kubectl scale` every Deployment of `namespace` labelled with `zone` to `replicas`.
        Reverted by scaling each back. Its result: each Deployment's replicas before."""
        ...

    def restart(self, namespace: str, app: str) -> Operation[list[dict]]:
        """`kubectl rollout restart` of the Deployment `app` (or those labelled app=`app`),
        waiting for each rollout. Nothing to revert: the Pods are new, the spec is the same.
        Its result: each rollout and how long it took."""
        ...

    def app_pods(self, app: str, region: str) -> list[dict]:
        """The Pods labelled app=`app` in every namespace of the region's cluster (its
        kubectl context), as the API lists them."""
        ...

    def pods_not_ready_outside(self, zone: str) -> tuple[list[str], int]:
        """The Pods on nodes outside `zone` that are not Ready (or are terminating), and how
        many Pods run outside it."""
        ...
