"""Runbook 5.1's Kubernetes actions through the `kubernetes` client, on any cluster.

The same calls act on the embedded cluster and on a live one (a kubeconfig and context of
the profile): cordon a zone's nodes, scale a zone's Deployments, restart a Deployment and wait
for its rollout, and read whether the Pods outside a zone are Ready. Zones are the well-known
label `topology.kubernetes.io/zone`. Every call carries a timeout, every wait a deadline, and
every error names the cluster object it was about.
"""

from __future__ import annotations

import datetime
import time
from collections.abc import Callable
from dataclasses import dataclass

from kubernetes import client, config

ZONE_LABEL = "topology.kubernetes.io/zone"
# What `kubectl rollout restart` sets on the Pod template.
RESTARTED_AT = "kubectl.kubernetes.io/restartedAt"
API_TIMEOUT_S = 5.0
POLL_S = 0.2
PROGRESS_S = 5.0


class ClusterError(RuntimeError):
    """A cluster object is missing, or a call or a wait on it failed."""


@dataclass(frozen=True)
class Rollout:
    """A Deployment's rollout that completed: how long it took from the change."""

    deployment: str
    took_s: float

    def as_dict(self) -> dict:
        return {"deployment": self.deployment, "took_s": round(self.took_s, 3)}


def rollout_state(deployment: dict) -> tuple[bool, str]:
    """Whether a Deployment's rollout is complete (kubectl's `rollout status` rule), and why
    not: the controller saw the latest spec, every replica is updated and available, and no
    old replica is left."""
    spec, status = deployment["spec"], deployment.get("status") or {}
    wanted = spec.get("replicas", 1)
    if deployment["metadata"].get("generation", 0) > status.get("observedGeneration", 0):
        return False, "the controller has not seen the latest spec yet"
    for condition in status.get("conditions") or []:
        if condition.get("reason") == "ProgressDeadlineExceeded":
            raise ClusterError(
                f"deployment {deployment['metadata']['name']}: {condition.get('message')}"
            )
    updated = status.get("updatedReplicas", 0)
    total = status.get("replicas", 0)
    available = status.get("availableReplicas", 0)
    if updated < wanted:
        return False, f"{updated} of {wanted} replicas updated"
    if total > updated:
        return False, f"{total - updated} old replicas pending termination"
    if available < updated:
        return False, f"{available} of {updated} updated replicas available"
    return True, f"{wanted} replicas updated and available"


def runs_outside(pod: dict, node_zones: dict[str, str], zone: str) -> bool:
    """Bound to a node not labelled with `zone`, and not finished: a Job's Pod that Succeeded
    or Failed is never Ready, so it is not counted."""
    node = pod["spec"].get("nodeName")
    finished = (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed")
    return node is not None and node_zones.get(node) != zone and not finished


def pods_not_ready_outside(pods: list[dict], node_zones: dict[str, str], zone: str) -> list[str]:
    """The Pods running outside `zone` (runs_outside) that are not Ready or are terminating,
    as namespace/name (reason); a pure function of the listed Pods and the nodes' zones."""
    waiting = []
    for pod in pods:
        if runs_outside(pod, node_zones, zone) and (why := not_ready(pod)):
            waiting.append(f"{pod_name(pod)} ({why})")
    return waiting


def not_ready(pod: dict) -> str | None:
    """Why the Pod serves no traffic ("terminating", "not Ready"), None when it does."""
    conditions = {c["type"]: c["status"] for c in (pod.get("status") or {}).get("conditions") or []}
    if pod["metadata"].get("deletionTimestamp"):
        return "terminating"
    if conditions.get("Ready") != "True":
        return "not Ready"
    return None


def pod_name(pod: dict) -> str:
    return f"{pod['metadata']['namespace']}/{pod['metadata']['name']}"


def ready_backends(slices: list[dict]) -> list[str]:
    """host:port of every Ready endpoint of a Service's EndpointSlices, sorted (a pure function
    of them). An endpoint is Ready while its Pod is Ready and not terminating."""
    found = set()
    for endpoint_slice in slices:
        ports = [p["port"] for p in endpoint_slice.get("ports") or [] if p.get("port")]
        for endpoint in endpoint_slice.get("endpoints") or []:
            # the API's rule: a condition not set (nil) means ready
            if (endpoint.get("conditions") or {}).get("ready") is not False:
                found.update(f"{a}:{port}" for a in endpoint["addresses"] for port in ports)
    return sorted(found)


def cluster_from_kubeconfig(
    kubeconfig: str, context: str | None, progress: Callable[[str], None] = print
) -> Cluster:
    """The cluster of a kubeconfig's context (its current one when None)."""
    try:
        api = config.new_client_from_config(config_file=kubeconfig, context=context)
    except Exception as exc:  # a missing file, an unknown context, a malformed config
        where = f"{kubeconfig}" + (f" context {context}" if context else "")
        raise ClusterError(f"kubeconfig {where}: {type(exc).__name__}: {exc}") from exc
    return Cluster(api, context or kubeconfig, progress)


class Cluster:
    """A Kubernetes cluster as runbook 5.1 acts on it."""

    def __init__(
        self, api: client.ApiClient, name: str, progress: Callable[[str], None] = print
    ) -> None:
        self.api = api
        self.name = name
        self.progress = progress
        self.core = client.CoreV1Api(api)
        self.apps = client.AppsV1Api(api)

    def _call(
        self, what: str, call: Callable[..., object], *args: object, **kwargs: object
    ) -> object:
        try:
            return call(*args, **kwargs, _request_timeout=API_TIMEOUT_S)
        except client.ApiException as exc:
            raise ClusterError(
                f"cluster {self.name}: {what}: {exc.status} {exc.reason}: {exc.body}"
            ) from exc
        except Exception as exc:  # urllib3's connection errors and timeouts
            raise ClusterError(f"cluster {self.name}: {what}: {type(exc).__name__}: {exc}") from exc

    def _plain(self, obj: object) -> dict:
        return self.api.sanitize_for_serialization(obj)

    def zone_nodes(self, zone: str) -> list[str]:
        nodes = self._call(
            f"list the nodes of {zone}", self.core.list_node, label_selector=f"{ZONE_LABEL}={zone}"
        )
        names = sorted(node.metadata.name for node in nodes.items)
        if not names:
            raise ClusterError(f"cluster {self.name}: no node labelled {ZONE_LABEL}={zone}")
        return names

    def node_zones(self) -> dict[str, str]:
        nodes = self._call("list the nodes", self.core.list_node)
        return {n.metadata.name: (n.metadata.labels or {}).get(ZONE_LABEL, "") for n in nodes.items}

    def unschedulable(self, nodes: list[str]) -> dict[str, bool]:
        return {
            node: bool(
                self._call(f"read node {node}", self.core.read_node, node).spec.unschedulable
            )
            for node in nodes
        }

    def set_unschedulable(self, nodes: list[str], value: bool) -> None:
        """`kubectl cordon` (True) or `uncordon` (False) of each node."""
        for node in nodes:
            what = f"{'cordon' if value else 'uncordon'} node {node}"
            self._call(what, self.core.patch_node, node, {"spec": {"unschedulable": value}})

    def zone_deployments(self, namespace: str, zone: str) -> dict[str, int]:
        """The Deployments of `namespace` labelled with `zone`, and their replicas."""
        found = self._call(
            f"list the Deployments of {zone} in {namespace}",
            self.apps.list_namespaced_deployment,
            namespace,
            label_selector=f"{ZONE_LABEL}={zone}",
        )
        replicas = {d.metadata.name: d.spec.replicas for d in found.items}
        if not replicas:
            raise ClusterError(
                f"cluster {self.name}: no Deployment labelled {ZONE_LABEL}={zone} "
                f"in namespace {namespace}"
            )
        return replicas

    def all_zone_deployments(self, zone: str) -> dict[str, list[str]]:
        """namespace -> the Deployments labelled with `zone` there, in every namespace."""
        found = self._call(
            f"list the Deployments of {zone}",
            self.apps.list_deployment_for_all_namespaces,
            label_selector=f"{ZONE_LABEL}={zone}",
        )
        by_namespace: dict[str, list[str]] = {}
        for deployment in found.items:
            by_namespace.setdefault(deployment.metadata.namespace, []).append(
                deployment.metadata.name
            )
        return by_namespace

    def scale(self, namespace: str, replicas: dict[str, int]) -> None:
        """`kubectl scale --replicas=N` of each Deployment."""
        for name, count in replicas.items():
            self._call(
                f"scale deployment {namespace}/{name} to {count}",
                self.apps.patch_namespaced_deployment_scale,
                name,
                namespace,
                {"spec": {"replicas": count}},
            )

    def deployments_of(self, namespace: str, app: str) -> list[str]:
        """The Deployment named `app`, or else those labelled `app=<app>` (one per zone)."""
        found = self._call(
            f"list the Deployments of {app} in {namespace}",
            self.apps.list_namespaced_deployment,
            namespace,
        )
        named = [d.metadata.name for d in found.items if d.metadata.name == app]
        labelled = [
            d.metadata.name for d in found.items if (d.metadata.labels or {}).get("app") == app
        ]
        names = named or sorted(labelled)
        if not names:
            raise ClusterError(
                f"cluster {self.name}: no Deployment named {app} or labelled app={app} "
                f"in namespace {namespace}"
            )
        return names

    def restart(self, namespace: str, names: list[str]) -> str:
        """`kubectl rollout restart`: a new restartedAt on each Pod template; returns it."""
        # to the microsecond: a second restart within the same second must change the spec too
        stamp = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        patch = {"spec": {"template": {"metadata": {"annotations": {RESTARTED_AT: stamp}}}}}
        for name in names:
            self._call(
                f"restart deployment {namespace}/{name}",
                self.apps.patch_namespaced_deployment,
                name,
                namespace,
                patch,
            )
        return stamp

    def restart_rollouts(self, namespace: str, names: list[str], timeout_s: float) -> list[dict]:
        """restart, then wait for each rollout; each rollout's figures, timed from the change."""
        changed = time.monotonic()
        self.restart(namespace, names)
        return [
            self.wait_rollout(namespace, name, timeout_s, since=changed).as_dict() for name in names
        ]

    def patch_template(self, namespace: str, name: str, patch: dict) -> None:
        self._call(
            f"patch deployment {namespace}/{name}",
            self.apps.patch_namespaced_deployment,
            name,
            namespace,
            {"spec": {"template": patch}},
        )

    def wait_rollout(
        self, namespace: str, name: str, timeout_s: float, since: float | None = None
    ) -> Rollout:
        """Wait until the Deployment's rollout is complete; a progress line every 5 s. Its time
        is counted from `since` (time.monotonic() of the change), or from now."""
        started = time.monotonic() if since is None else since
        deadline, next_line = started + timeout_s, started + PROGRESS_S
        while True:
            found = self._call(
                f"read deployment {namespace}/{name}",
                self.apps.read_namespaced_deployment,
                name,
                namespace,
            )
            done, why = rollout_state(self._plain(found))
            now = time.monotonic()
            if done:
                return Rollout(name, now - started)
            if now >= deadline:
                raise ClusterError(
                    f"cluster {self.name}: rollout of deployment {namespace}/{name} not complete "
                    f"within {timeout_s:g} s: {why}"
                )
            if now >= next_line:
                self.progress(f"rollout of {namespace}/{name}: {why} ({now - started:.0f} s)")
                next_line = now + PROGRESS_S
            time.sleep(POLL_S)

    def ready_endpoints(self, namespace: str, service: str) -> list[str]:
        """host:port of the Service's Ready endpoints, where clients' traffic goes."""
        listed = self._call(
            f"list the endpoints of service {namespace}/{service}",
            client.DiscoveryV1Api(self.api).list_namespaced_endpoint_slice,
            namespace,
            label_selector=f"kubernetes.io/service-name={service}",
        )
        return ready_backends([self._plain(s) for s in listed.items])

    def app_pods(self, app: str) -> list[dict]:
        """The Pods labelled app=`app`, in every namespace."""
        listed = self._call(
            f"list the pods of {app}",
            self.core.list_pod_for_all_namespaces,
            label_selector=f"app={app}",
        )
        return [self._plain(pod) for pod in listed.items]

    def pods_not_ready_outside(self, zone: str) -> tuple[list[str], int]:
        """The Pods outside `zone` not Ready yet, and how many Pods run outside it."""
        node_zones = self.node_zones()
        listed = self._call("list the pods", self.core.list_pod_for_all_namespaces)
        pods = [self._plain(pod) for pod in listed.items]
        outside = sum(runs_outside(pod, node_zones, zone) for pod in pods)
        return pods_not_ready_outside(pods, node_zones, zone), outside
