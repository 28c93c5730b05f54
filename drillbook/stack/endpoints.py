"""The router follows a Service's Ready endpoints, as kube-proxy does, and so may others
(Prometheus's list of targets).

A thread watches the Service's EndpointSlices (a list, then a watch from its resource version,
listed again whenever the watch ends or fails) and gives the router the Ready addresses each
time they change. An endpoint is Ready while its Pod is Ready and not terminating, so a Pod
that is deleted leaves the traffic path before its process is stopped.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable

from kubernetes import client, watch

from drillbook.platform.kubernetes import ready_backends
from drillbook.stack.kubernetes import KubeControlPlane
from drillbook.stack.router import Router

API_TIMEOUT_S = 5.0
# A watch ends after this long and the slices are listed again; stopping does not wait for it.
WATCH_S = 30
RETRY_S = 0.5
STOP_WAIT_S = 1.0


class EndpointFollower:
    def __init__(
        self, kube: KubeControlPlane, namespace: str, service: str, router: Router
    ) -> None:
        self.kube = kube
        self.namespace = namespace
        self.service = service
        self.router = router
        # told the Ready endpoints each time they change, after the router
        self.watchers: list[Callable[[list[str]], None]] = []
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._watch: watch.Watch | None = None

    def start(self) -> None:
        self._thread = threading.Thread(
            target=self._follow, name=f"endpoints {self.service}", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        """From now on the router is left as it is. The thread may sit in a watch until its
        next event or its end; it is a daemon that acts on nothing once stopping, so it is
        given a moment, not waited for."""
        self._stopping.set()
        if self._watch is not None:
            self._watch.stop()
        if self._thread is not None:
            self._thread.join(timeout=STOP_WAIT_S)

    def _follow(self) -> None:
        api = client.DiscoveryV1Api(self.kube.api)
        selector = f"kubernetes.io/service-name={self.service}"
        # Read as plain JSON: the client's model refuses a slice whose `endpoints` is null,
        # which is what a Service whose Pods are not scheduled yet has.
        while not self._stopping.is_set():
            try:
                answer = api.list_namespaced_endpoint_slice(
                    self.namespace,
                    label_selector=selector,
                    _request_timeout=API_TIMEOUT_S,
                    _preload_content=False,
                )
                listed = json.loads(answer.data)
                slices = {s["metadata"]["name"]: s for s in listed["items"]}
                self._route(list(slices.values()))
                self._watch = watch.Watch()
                for event in self._watch.stream(
                    api.list_namespaced_endpoint_slice,
                    self.namespace,
                    label_selector=selector,
                    resource_version=listed["metadata"]["resourceVersion"],
                    timeout_seconds=WATCH_S,
                    _request_timeout=WATCH_S + API_TIMEOUT_S,
                    deserialize=False,
                ):
                    name = event["object"]["metadata"]["name"]
                    if event["type"] == "DELETED":
                        slices.pop(name, None)
                    else:
                        slices[name] = event["object"]
                    self._route(list(slices.values()))
            except Exception as exc:  # the API server restarting, a watch expired: list again
                if not self._stopping.is_set():
                    self.kube.progress(
                        f"endpoints of {self.service}: {type(exc).__name__}: {exc}; "
                        "listing them again"
                    )
                    self._stopping.wait(RETRY_S)

    def _route(self, slices: list[dict]) -> None:
        backends = ready_backends(slices)
        if backends != self.router.backends and not self._stopping.is_set():
            self.router.set_backends(backends)
            for watcher in self.watchers:
                watcher(backends)
