"""``python -m drillbook.stack.node_agent --config node.json``: one node of the embedded
Kubernetes, standing in for a kubelet.

A kubelet needs a container runtime, which cannot run here; this agent does the part of a
kubelet a drill relies on, against the real API server: it registers its Node (zone label,
allocatable, Ready) and renews its Lease; it runs the container command of every Pod bound to
it as a local process, on an address of its own (drillbook.stack.pod_network), with the Pod's
environment and `$(VAR)` expansion; it reports the Pod Running and Ready from its readiness
probe (HTTP GET), restarts a container that exits, and when a Pod is deleted it runs the preStop
sleep, stops the process (SIGTERM, SIGKILL after the grace period) and removes the Pod, which
a kubelet-less node would otherwise leave Terminating for ever. Images and volumes are ignored:
the command is a program of this host.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from http import HTTPStatus
from pathlib import Path
from typing import Any

import httpx
from kubernetes import client

from drillbook.stack import pod_network

API_TIMEOUT_S = 5.0
# How often the Pods bound here are listed: a new Pod starts, a deleted one stops, within it.
SYNC_INTERVAL_S = 0.5
HEARTBEAT_S = 10.0
LEASE_S = 40
RESTART_BACKOFF_S = 1.0
ZONE_LABEL = "topology.kubernetes.io/zone"
# What a Pod's status patch or deletion may meet when the Pod went meanwhile.
GONE = (HTTPStatus.NOT_FOUND, HTTPStatus.CONFLICT)
REGION_LABEL = "topology.kubernetes.io/region"
# Downward-API fields an env var may take its value from.
FIELD_PATHS = ("metadata.name", "metadata.namespace", "spec.nodeName", "status.podIP")
_VAR = re.compile(r"\$\$|\$\(([A-Za-z_][A-Za-z0-9_]*)\)")


def now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def micro_now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def expand(text: str, env: dict[str, str]) -> str:
    """Kubernetes' `$(VAR)` expansion of a command or argument: a defined variable is
    replaced, an undefined one kept as written, `$$` is a literal `$`."""

    def one(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        return env.get(match.group(1), match.group(0))

    return _VAR.sub(one, text)


def container_env(pod: dict, ip: str) -> dict[str, str]:
    """The container's variables: values and downward-API fields, in the order written."""
    fields = {
        "metadata.name": pod["metadata"]["name"],
        "metadata.namespace": pod["metadata"]["namespace"],
        "spec.nodeName": pod["spec"]["nodeName"],
        "status.podIP": ip,
    }
    env: dict[str, str] = {}
    for var in pod["spec"]["containers"][0].get("env", []):
        source = (var.get("valueFrom") or {}).get("fieldRef")
        if source is not None:
            if source["fieldPath"] not in fields:
                raise ValueError(
                    f"env {var['name']}: field {source['fieldPath']} is not supported "
                    f"(supported: {', '.join(FIELD_PATHS)})"
                )
            env[var["name"]] = fields[source["fieldPath"]]
        else:
            env[var["name"]] = expand(var.get("value", ""), env)
    return env


@dataclass
class ReadinessProbe:
    """A container's readinessProbe (HTTP GET only), with its counters."""

    path: str | None
    port: int | None
    period_s: float
    timeout_s: float
    success_threshold: int
    failure_threshold: int
    initial_delay_s: float
    successes: int = 0
    failures: int = 0
    due: float = 0.0

    @classmethod
    def of(cls, container: dict) -> ReadinessProbe:
        probe = container.get("readinessProbe") or {}
        http = probe.get("httpGet") or {}
        port = http.get("port")
        if isinstance(port, str):
            named = [p for p in container.get("ports", []) if p.get("name") == port]
            port = named[0]["containerPort"] if named else None
        return cls(
            path=http.get("path", "/") if http else None,
            port=port,
            period_s=probe.get("periodSeconds", 10),
            timeout_s=probe.get("timeoutSeconds", 1),
            success_threshold=probe.get("successThreshold", 1),
            failure_threshold=probe.get("failureThreshold", 3),
            initial_delay_s=probe.get("initialDelaySeconds", 0),
        )


@dataclass
class PodProcess:
    """A Pod bound to this node and the process running its (first) container."""

    pod: dict
    ip: str
    log_path: Path
    probe: ReadinessProbe
    process: subprocess.Popen[bytes] | None = None
    started_at: str | None = None
    ready: bool = False
    restarts: int = 0
    last_exit: int | None = None
    restart_due: float = 0.0
    terminating: bool = False
    reported: dict[str, Any] = field(default_factory=dict)

    @property
    def uid(self) -> str:
        return self.pod["metadata"]["uid"]

    @property
    def key(self) -> str:
        return f"{self.pod['metadata']['namespace']}/{self.pod['metadata']['name']}"

    @property
    def container(self) -> dict:
        return self.pod["spec"]["containers"][0]

    def start(self) -> None:
        env = container_env(self.pod, self.ip)
        argv = [
            expand(arg, env)
            for arg in [*self.container.get("command", []), *self.container.get("args", [])]
        ]
        base = {name: os.environ[name] for name in ("PATH", "HOME", "LANG") if name in os.environ}
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.container.get("workingDir") or None,
                env={**base, **env},
                start_new_session=True,
            )
        self.started_at = now()
        self.ready = False
        self.probe.successes = self.probe.failures = 0
        self.probe.due = time.monotonic() + self.probe.initial_delay_s

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def probe_once(self) -> None:
        """Run the readiness probe if due; without one, a running container is ready."""
        probe = self.probe
        if probe.path is None:
            self.ready = self.running
            return
        if time.monotonic() < probe.due:
            return
        probe.due = time.monotonic() + probe.period_s
        try:
            url = f"http://{self.ip}:{probe.port}{probe.path}"
            ok = 200 <= httpx.get(url, timeout=probe.timeout_s).status_code < 400
        except httpx.HTTPError:
            ok = False
        if ok:
            probe.successes, probe.failures = probe.successes + 1, 0
            if probe.successes >= probe.success_threshold:
                self.ready = True
        else:
            probe.successes, probe.failures = 0, probe.failures + 1
            if probe.failures >= probe.failure_threshold:
                self.ready = False

    def stop(self, grace_s: float) -> None:
        """SIGTERM the container's process group; SIGKILL what is left after `grace_s`."""
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=grace_s)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=API_TIMEOUT_S)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)

    def status(self, node_ip: str) -> dict:
        ready = self.ready and self.running
        if self.running:
            state: dict = {"running": {"startedAt": self.started_at}}
        else:
            state = {"waiting": {"reason": "CrashLoopBackOff"}}
        conditions = [
            ("PodScheduled", True),
            ("Initialized", True),
            ("ContainersReady", ready),
            ("Ready", ready),
        ]
        return {
            "phase": "Running",
            "hostIP": node_ip,
            "hostIPs": [{"ip": node_ip}],
            "podIP": self.ip,
            "podIPs": [{"ip": self.ip}],
            "startTime": self.pod["metadata"]["creationTimestamp"],
            "conditions": [{"type": kind, "status": str(value)} for kind, value in conditions],
            "containerStatuses": [
                {
                    "name": self.container["name"],
                    "image": self.container.get("image", ""),
                    "imageID": "",
                    "ready": ready,
                    "started": self.running,
                    "restartCount": self.restarts,
                    "state": state,
                    **(
                        {"lastState": {"terminated": {"exitCode": self.last_exit}}}
                        if self.last_exit is not None
                        else {}
                    ),
                }
            ],
        }


class NodeAgent:
    def __init__(self, config: dict) -> None:
        self.node = config["node"]
        self.zone = config["zone"]
        self.region = config["region"]
        self.free_ips = list(config["pod_ips"])
        self.node_ip = config["node_ip"]
        self.logs = Path(config["logs"])
        settings = client.Configuration()
        settings.host = config["server"]
        settings.ssl_ca_cert = config["ca"]
        settings.api_key = {"authorization": config["token"]}
        settings.api_key_prefix = {"authorization": "Bearer"}
        self.api = client.ApiClient(settings)
        self.core = client.CoreV1Api(self.api)
        self.leases = client.CoordinationV1Api(self.api)
        self.pods: dict[str, PodProcess] = {}
        # the pods and free addresses, shared with the threads that stop deleted Pods
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.next_heartbeat = 0.0

    def run(self) -> None:
        self.register()
        while not self.stopping.is_set():
            try:
                if time.monotonic() >= self.next_heartbeat:
                    self.heartbeat()
                self.sync()
            except Exception as exc:  # the API server slow or restarting: try again next round
                print(f"{now()} sync failed: {type(exc).__name__}: {exc}", flush=True)
            self.stopping.wait(SYNC_INTERVAL_S)
        self.stop_all()

    def register(self) -> None:
        labels = {
            "kubernetes.io/hostname": self.node,
            "kubernetes.io/os": "linux",
            ZONE_LABEL: self.zone,
            REGION_LABEL: self.region,
        }
        body = {"metadata": {"name": self.node, "labels": labels}}
        self.core.create_node(body, _request_timeout=API_TIMEOUT_S)
        lease = {
            "metadata": {"name": self.node, "namespace": "kube-node-lease"},
            "spec": {"holderIdentity": self.node, "leaseDurationSeconds": LEASE_S},
        }
        self.leases.create_namespaced_lease("kube-node-lease", lease, _request_timeout=5)

    def heartbeat(self) -> None:
        """The Node's status (Ready, what it can hold) and its Lease renewed."""
        self.next_heartbeat = time.monotonic() + HEARTBEAT_S
        room = {"cpu": "16", "memory": "32Gi", "pods": "110"}
        status = {
            "status": {
                "capacity": room,
                "allocatable": room,
                "addresses": [
                    {"type": "InternalIP", "address": self.node_ip},
                    {"type": "Hostname", "address": self.node},
                ],
                "conditions": [
                    {
                        "type": "Ready",
                        "status": "True",
                        "reason": "NodeAgentReady",
                        "message": "drillbook node agent is running",
                        "lastHeartbeatTime": now(),
                        "lastTransitionTime": now(),
                    }
                ],
                "nodeInfo": {"kubeletVersion": "drillbook-node-agent"},
            }
        }
        self.core.patch_node_status(self.node, status, _request_timeout=API_TIMEOUT_S)
        renew = {"spec": {"renewTime": micro_now(), "holderIdentity": self.node}}
        self.leases.patch_namespaced_lease(
            self.node, "kube-node-lease", renew, _request_timeout=API_TIMEOUT_S
        )

    def bound_pods(self) -> list[dict]:
        answer = self.core.list_pod_for_all_namespaces(
            field_selector=f"spec.nodeName={self.node}",
            _preload_content=False,
            _request_timeout=API_TIMEOUT_S,
        )
        return json.loads(answer.data)["items"]

    def sync(self) -> None:
        """Start new Pods, restart exited containers, stop deleted Pods, report changes."""
        seen = set()
        for pod in self.bound_pods():
            uid = pod["metadata"]["uid"]
            seen.add(uid)
            if uid not in self.pods:
                if pod["metadata"].get("deletionTimestamp"):
                    self._remove(pod)  # never started here
                    continue
                self._admit(pod)
            running = self.pods[uid]
            running.pod = pod
            if pod["metadata"].get("deletionTimestamp"):
                if not running.terminating:
                    running.terminating = True
                    threading.Thread(target=self._terminate, args=(running,), daemon=True).start()
                continue
            self._keep_running(running)
            running.probe_once()
            self._report(running)
        for uid in set(self.pods) - seen:  # removed by someone else (grace period 0)
            with self.lock:
                gone = self.pods.pop(uid, None)
            if gone is not None and not gone.terminating:  # else its thread releases it
                gone.stop(0)
                self._release_ip(gone.ip)

    def _admit(self, pod: dict) -> None:
        with self.lock:
            if not self.free_ips:
                raise RuntimeError(f"node {self.node}: no pod address left")
            ip = self.free_ips.pop(0)
        try:
            pod_network.add_address(ip)
        except pod_network.PodNetworkError:
            self._release_ip(ip)
            raise
        name = f"{pod['metadata']['namespace']}_{pod['metadata']['name']}.log"
        running = PodProcess(
            pod, ip, self.logs / name, ReadinessProbe.of(pod["spec"]["containers"][0])
        )
        self.pods[pod["metadata"]["uid"]] = running
        if running.probe.path is not None and running.probe.port is None:
            print(f"{now()} {running.key}: its readiness probe names no declared port", flush=True)
        running.start()
        print(f"{now()} started {running.key} on {ip} (pid {running.process.pid})", flush=True)

    def _keep_running(self, running: PodProcess) -> None:
        if running.running:
            return
        if running.restart_due == 0.0:
            running.last_exit = running.process.returncode if running.process else None
            running.ready = False
            running.restart_due = time.monotonic() + RESTART_BACKOFF_S
            print(f"{now()} {running.key} exited with {running.last_exit}", flush=True)
        elif time.monotonic() >= running.restart_due:
            running.restarts += 1
            running.restart_due = 0.0
            running.start()

    def _report(self, running: PodProcess) -> None:
        status = running.status(self.node_ip)
        if status == running.reported:
            return
        name, namespace = running.pod["metadata"]["name"], running.pod["metadata"]["namespace"]
        try:
            self.core.patch_namespaced_pod_status(
                name, namespace, {"status": status}, _request_timeout=API_TIMEOUT_S
            )
            running.reported = status
        except client.ApiException as exc:
            if exc.status not in GONE:  # deleted meanwhile: the next sync sees it
                raise

    def _terminate(self, running: PodProcess) -> None:
        """A deleted Pod: preStop sleep, stop within its grace period, then remove the Pod."""
        spec = running.pod["spec"]
        grace = running.pod["metadata"].get("deletionGracePeriodSeconds")
        grace = spec.get("terminationGracePeriodSeconds", 30) if grace is None else grace
        pre_stop = (running.container.get("lifecycle") or {}).get("preStop") or {}
        pause = min((pre_stop.get("sleep") or {}).get("seconds", 0), grace)
        print(f"{now()} stopping {running.key} (grace {grace} s, preStop {pause} s)", flush=True)
        time.sleep(pause)
        running.stop(max(grace - pause, 0))
        self._remove(running.pod)
        with self.lock:
            self.pods.pop(running.uid, None)
        self._release_ip(running.ip)

    def _remove(self, pod: dict) -> None:
        meta = pod["metadata"]
        options = client.V1DeleteOptions(
            grace_period_seconds=0, preconditions=client.V1Preconditions(uid=meta["uid"])
        )
        try:
            self.core.delete_namespaced_pod(
                meta["name"], meta["namespace"], body=options, _request_timeout=API_TIMEOUT_S
            )
        except client.ApiException as exc:
            if exc.status not in GONE:  # already gone, or replaced under the same name
                raise

    def _release_ip(self, ip: str) -> None:
        """The address off `lo` and free again, once however many paths release it."""
        with self.lock:  # taken off before it is free: a new Pod may get it at once
            if ip in self.free_ips:
                return
            pod_network.remove_address(ip)
            self.free_ips.append(ip)

    def stop_all(self) -> None:
        for running in list(self.pods.values()):
            running.stop(float(running.pod["spec"].get("terminationGracePeriodSeconds", 30)))
            self._release_ip(running.ip)
        self.pods.clear()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m drillbook.stack.node_agent")
    parser.add_argument("--config", required=True, help="the node's JSON configuration")
    args = parser.parse_args(argv)
    agent = NodeAgent(json.loads(Path(args.config).read_text()))

    def stop(signum: int, frame: object) -> None:
        agent.stopping.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print(f"{now()} node {agent.node} ({agent.zone}) starting", flush=True)
    agent.run()
    print(f"{now()} node {agent.node} stopped", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
