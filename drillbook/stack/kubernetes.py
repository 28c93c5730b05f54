"""The embedded Kubernetes: a real control plane and a node agent per zone, as local processes.

etcd, kube-apiserver, kube-controller-manager and kube-scheduler are the upstream programs,
built from their Go modules by scripts/setup.sh. The nodes have no kubelet (it needs a
container runtime): drillbook.stack.node_agent stands in for it, so a Pod bound to a node runs
as a local process. Users authenticate with static tokens and are authorised by RBAC, and the
nodes by the Node authoriser, as on a real cluster; the harness acts as an admin.
"""

from __future__ import annotations

import json
import secrets
import ssl
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
import yaml
from kubernetes import client, config

from drillbook.platform.kubernetes import Cluster
from drillbook.private_files import write_private
from drillbook.stack import pod_network
from drillbook.stack.pki import write_control_plane_pki
from drillbook.stack.ports import free_port
from drillbook.stack.process import ManagedProcess
from drillbook.stack.tools import REPO_ROOT, find_tool

API_TIMEOUT_S = 5.0
# How long kube-apiserver may take to exit on SIGTERM before it is killed.
APISERVER_STOP_S = 2.0
# The context of the primary region's cluster in the kubeconfigs written here.
KUBE_CONTEXT = "drillbook"
SERVICE_RANGE = "10.96.0.0/16"
# A Node's health is its agent's heartbeat; this long without one, it is marked Unknown (its
# Pods are evicted after the unreachable taint's default toleration, 5 min more).
NODE_GRACE = "40s"


@dataclass(frozen=True)
class User:
    name: str
    token: str
    groups: tuple[str, ...] = ()


class KubeControlPlane:
    """etcd, the API server, the controller-manager, the scheduler and one node per zone: the
    cluster of one region, named `context` in its kubeconfigs."""

    def __init__(
        self,
        *,
        root: Path,
        logs: Path,
        zones: list[str],
        region: str,
        ready_timeout_s: float,
        progress: Callable[[str], None] = print,
        context: str = KUBE_CONTEXT,
    ) -> None:
        self.root = root
        self.logs = logs
        self.zones = list(zones)
        self.region = region
        self.context = context
        self.ready_timeout_s = ready_timeout_s
        self.progress = progress
        binary = {
            name: find_tool(name, pinned=True)
            for name in ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler")
        }
        self.kubectl = find_tool("kubectl", pinned=True)
        self.pki = root / "pki"
        self.etcd_port, self.etcd_peer_port = free_port(), free_port()
        self.api_port = free_port()
        self.users = {
            "admin": User("drillbook-admin", secrets.token_hex(16), ("system:masters",)),
            "controller-manager": User("system:kube-controller-manager", secrets.token_hex(16)),
            "scheduler": User("system:kube-scheduler", secrets.token_hex(16)),
            **{
                zone: User(
                    f"system:node:{node_name(zone)}", secrets.token_hex(16), ("system:nodes",)
                )
                for zone in self.zones
            },
        }
        self.processes = [
            ManagedProcess("etcd", self._etcd_argv(binary["etcd"]), logs / "etcd.log"),
            ManagedProcess(
                "kube-apiserver",
                self._apiserver_argv(binary["kube-apiserver"]),
                logs / "kube-apiserver.log",
            ),
            ManagedProcess(
                "kube-controller-manager",
                self._controller_manager_argv(binary["kube-controller-manager"]),
                logs / "kube-controller-manager.log",
            ),
            ManagedProcess(
                "kube-scheduler",
                self._scheduler_argv(binary["kube-scheduler"]),
                logs / "kube-scheduler.log",
            ),
        ]
        self.nodes = {
            zone: ManagedProcess(
                f"node agent {zone}",
                [
                    sys.executable,
                    "-m",
                    "drillbook.stack.node_agent",
                    "--config",
                    str(root / f"node-{zone}.json"),
                ],
                logs / f"node-{zone}.log",
                cwd=REPO_ROOT,
            )
            for zone in self.zones
        }
        self._api: client.ApiClient | None = None
        self._cluster: Cluster | None = None
        # the region's public address, from its pod subnet: where its entry point listens
        self.entry_ip: str | None = None

    @property
    def server(self) -> str:
        return f"https://127.0.0.1:{self.api_port}"

    @property
    def kubeconfig(self) -> Path:
        """The admin's kubeconfig (one context, `context`), for kubectl and the client."""
        return self.root / "admin.kubeconfig"

    def _etcd_argv(self, etcd: str) -> list[str]:
        client_url = f"http://127.0.0.1:{self.etcd_port}"
        peer_url = f"http://127.0.0.1:{self.etcd_peer_port}"
        return [
            etcd,
            "--name=drillbook",
            f"--data-dir={self.root / 'etcd'}",
            f"--listen-client-urls={client_url}",
            f"--advertise-client-urls={client_url}",
            f"--listen-peer-urls={peer_url}",
            f"--initial-advertise-peer-urls={peer_url}",
            f"--initial-cluster=drillbook={peer_url}",
            # a drill's cluster lives for one run: no fsync, as CI machines' disks are slow
            "--unsafe-no-fsync",
            "--log-level=warn",
        ]

    def _apiserver_argv(self, binary: str) -> list[str]:
        pki = self.pki
        return [
            binary,
            f"--etcd-servers=http://127.0.0.1:{self.etcd_port}",
            "--bind-address=127.0.0.1",
            "--advertise-address=127.0.0.1",
            # the default reconciler writes the advertise address into the `kubernetes`
            # Service's endpoints, which refuse loopback addresses
            "--endpoint-reconciler-type=none",
            f"--secure-port={self.api_port}",
            f"--tls-cert-file={pki / 'apiserver.crt'}",
            f"--tls-private-key-file={pki / 'apiserver.key'}",
            f"--client-ca-file={pki / 'ca.crt'}",
            f"--requestheader-client-ca-file={pki / 'ca.crt'}",
            f"--token-auth-file={self.root / 'tokens.csv'}",
            "--authorization-mode=Node,RBAC",
            "--enable-admission-plugins=NodeRestriction",
            # Nodes are Ready from their first status: no not-ready taint to wait out
            "--disable-admission-plugins=TaintNodesByCondition",
            f"--service-cluster-ip-range={SERVICE_RANGE}",
            "--service-account-issuer=https://kubernetes.default.svc",
            f"--service-account-key-file={pki / 'sa.pub'}",
            f"--service-account-signing-key-file={pki / 'sa.key'}",
            "--profiling=false",
        ]

    def _component_flags(self, user: str) -> list[str]:
        kubeconfig = self.root / f"{user}.kubeconfig"
        return [
            f"--kubeconfig={kubeconfig}",
            f"--authentication-kubeconfig={kubeconfig}",
            f"--authorization-kubeconfig={kubeconfig}",
            "--bind-address=127.0.0.1",
            f"--secure-port={free_port()}",
            "--leader-elect=false",
            "--profiling=false",
        ]

    def _controller_manager_argv(self, binary: str) -> list[str]:
        return [
            binary,
            *self._component_flags("controller-manager"),
            f"--service-account-private-key-file={self.pki / 'sa.key'}",
            f"--root-ca-file={self.pki / 'ca.crt'}",
            "--use-service-account-credentials=true",
            f"--node-monitor-grace-period={NODE_GRACE}",
        ]

    def _scheduler_argv(self, binary: str) -> list[str]:
        return [binary, *self._component_flags("scheduler")]

    def _write_files(self) -> None:
        # keys, tokens and kubeconfigs: readable by this user only from the first byte
        self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
        write_control_plane_pki(self.pki, ["127.0.0.1", "localhost"])
        lines = [f'{u.token},{u.name},{u.name},"{",".join(u.groups)}"' for u in self.users.values()]
        tokens = self.root / "tokens.csv"
        write_private(tokens, "\n".join(lines) + "\n")
        for role, user in self.users.items():
            if role in self.zones:
                continue
            path = self.kubeconfig if role == "admin" else self.root / f"{role}.kubeconfig"
            write_kubeconfig(path, self.context, self.server, self.pki / "ca.crt", user)
        subnet = pod_network.claim_subnet(self.root)
        *hosts, self.entry_ip = [str(host) for host in subnet.hosts()]
        share = len(hosts) // len(self.zones)
        for n, zone in enumerate(self.zones):
            ips = hosts[n * share : (n + 1) * share]
            node = {
                "server": self.server,
                "ca": str(self.pki / "ca.crt"),
                "token": self.users[zone].token,
                "node": node_name(zone),
                "zone": zone,
                "region": self.region,
                "node_ip": ips[0],
                "pod_ips": ips[1:],
                "logs": str(self.logs / "pods"),
            }
            path = self.root / f"node-{zone}.json"
            write_private(path, json.dumps(node, indent=2))

    def spawn(self) -> None:
        """Write the key material, tokens and kubeconfigs; start etcd and the API server."""
        self._write_files()
        pod_network.add_address(self.entry_ip)
        for process in self.processes[:2]:
            process.start()

    def wait_ready(self) -> None:
        """Wait for etcd and the API server; start the controllers, which exit when their
        RBAC roles are not there yet (the API server is ready once it has made them), and the
        nodes; wait until every node is Ready."""
        etcd, apiserver, controller_manager, scheduler = self.processes
        etcd.wait_ready(self._etcd_healthy, self.ready_timeout_s)
        apiserver.wait_ready(self._api_ready, self.ready_timeout_s)
        for component in (controller_manager, scheduler):
            component.start()
        for component in (controller_manager, scheduler):
            component.wait_ready(self._component_healthy(component), self.ready_timeout_s)
        for node in self.nodes.values():
            node.start()
        for zone, node in self.nodes.items():
            node.wait_ready(self._node_ready(zone), self.ready_timeout_s)
        self.progress(
            f"kubernetes up on {self.server} (nodes {', '.join(node_name(z) for z in self.zones)}; "
            f"kubeconfig {self.kubeconfig})"
        )

    def _etcd_healthy(self) -> None:
        answer = httpx.get(f"http://127.0.0.1:{self.etcd_port}/health", timeout=1.0)
        if answer.json().get("health") != "true":
            raise RuntimeError(f"etcd says {answer.text}")

    def _api_ready(self) -> None:
        headers = {"Authorization": f"Bearer {self.users['admin'].token}"}
        trust = ssl.create_default_context(cafile=self.pki / "ca.crt")
        answer = httpx.get(f"{self.server}/readyz", headers=headers, verify=trust, timeout=1.0)
        answer.raise_for_status()

    def _component_healthy(self, component: ManagedProcess) -> Callable[[], None]:
        port = next(a.split("=")[1] for a in component.argv if a.startswith("--secure-port="))

        def healthy() -> None:
            # served with the component's own self-signed certificate
            httpx.get(
                f"https://127.0.0.1:{port}/healthz", verify=False, timeout=1.0
            ).raise_for_status()

        return healthy

    def _node_ready(self, zone: str) -> Callable[[], None]:
        def ready() -> None:
            node = client.CoreV1Api(self.api).read_node(node_name(zone), _request_timeout=1.0)
            conditions = {c.type: c.status for c in node.status.conditions or []}
            if conditions.get("Ready") != "True":
                raise RuntimeError(f"node {node_name(zone)} is not Ready: {conditions}")

        return ready

    @property
    def api(self) -> client.ApiClient:
        """The admin's API client (every call passes its own `_request_timeout`)."""
        if self._api is None:
            self._api = config.new_client_from_config(config_file=str(self.kubeconfig))
        return self._api

    @property
    def cluster(self) -> Cluster:
        """Runbook 5.1's actions on this cluster, as the admin."""
        if self._cluster is None:
            self._cluster = Cluster(self.api, self.context, self.progress)
        return self._cluster

    def stop(self) -> None:
        """Nodes first (they stop their Pods' processes and addresses), then the control
        plane in reverse order; every stop is tried."""
        failures = []
        for process in [*self.nodes.values(), *reversed(self.processes)]:
            # kube-apiserver stops serving at once, then waits about 20 s for its ServiceCIDR
            # allocator; its state is etcd's, so it is killed after a short grace
            grace_s = APISERVER_STOP_S if process.component == "kube-apiserver" else None
            try:
                process.stop(timeout_s=grace_s or self.ready_timeout_s)
            except Exception as exc:  # keep stopping the rest
                failures.append(f"{process.component}: {exc}")
        if self._api is not None:
            self._api.close()
            self._api = self._cluster = None
        removed: list[str] = []
        try:
            removed = pod_network.release_subnet(self.root)
        except pod_network.PodNetworkError as exc:
            failures.append(f"pod addresses: {exc}")
        if failures:
            raise RuntimeError(f"kubernetes did not stop cleanly: {failures}")
        left = [address for address in removed if address != self.entry_ip]
        if left:
            self.progress(f"kubernetes: removed pod addresses left on lo: {', '.join(left)}")

    def pids(self) -> dict[str, int]:
        found = {p.component: p.pid for p in [*self.processes, *self.nodes.values()]}
        return {name: pid for name, pid in found.items() if pid is not None}


def node_name(zone: str) -> str:
    return f"node-{zone}"


def write_kubeconfig(path: Path, context: str, server: str, ca: Path, user: User) -> None:
    """A kubeconfig whose cluster, user and context are all named `context`, so the
    kubeconfigs of two regions merge (KUBECONFIG=a:b) without one's entries hiding the
    other's."""
    cluster = {"server": server, "certificate-authority": str(ca)}
    kubeconfig = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": context, "cluster": cluster}],
        "users": [{"name": context, "user": {"token": user.token}}],
        "contexts": [{"name": context, "context": {"cluster": context, "user": context}}],
        "current-context": context,
    }
    write_private(path, yaml.safe_dump(kubeconfig))
