"""Components in containers, through testcontainers, on a Docker engine of this host.

Each component runs in a container of its own from an image scripts/images.sh built locally
(drillbook/<name>:latest), on a user-defined network of the run where the others reach it by
its name. Every container and the network carry the run's id as a label, so a later run can
tell what a killed one left (`remove_run`) without any object of it.

Nothing is pulled: testcontainers pulls an image it does not find, so a missing one is refused
here first; and its reaper (Ryuk), whose image comes from a registry, is turned off, the
journal's recover ops taking its place.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from typing import Any

import docker
from docker.models.containers import Container
from testcontainers.core.config import testcontainers_config
from testcontainers.core.container import DockerContainer
from testcontainers.core.network import Network

from drillbook.faults.journal import run_id

testcontainers_config.ryuk_disabled = True

RUN_LABEL = "org.drillbook.run"
COMPONENT_LABEL = "org.drillbook.component"
# Every call to the engine is bounded: a wedged dockerd must not hang a drill.
ENGINE_TIMEOUT_S = 30
CLIENT_KW = {"timeout": ENGINE_TIMEOUT_S}


def image(component: str) -> str:
    """The locally built image of a component (scripts/images.sh tags each build `latest`)."""
    return f"drillbook/{component}:latest"


def engine() -> docker.DockerClient:
    """A client of the host's Docker engine; a clear error when none answers."""
    client = None
    try:
        client = docker.from_env(**CLIENT_KW)
        client.ping()
    except docker.errors.DockerException as exc:
        if client is not None:
            client.close()
        raise RuntimeError(
            f"no Docker engine answers ({exc}); `scripts/images.sh` starts dockerd and builds "
            "the images the containers environment runs"
        ) from exc
    return client


@contextmanager
def engine_client() -> Iterator[docker.DockerClient]:
    client = engine()
    try:
        yield client
    finally:
        client.close()


class ContainerRun:
    """The containers of one run and their network, started through testcontainers;
    `recover_op` is how a later run removes them if this one is killed."""

    def __init__(self, progress: Callable[[str], None] = print, run: str | None = None) -> None:
        self.run = run or run_id()
        self.progress = progress
        self.labels = {RUN_LABEL: self.run}
        self.network: Network | None = None
        self.containers: dict[str, DockerContainer] = {}

    def open(self) -> None:
        """The run's network (the engine is first asked only now)."""
        self.network = Network(
            docker_client_kw=CLIENT_KW, docker_network_kw={"labels": self.labels}
        )
        self.network.create()
        self.progress(f"containers: network {self.network.name} for run {self.run}")

    def start(self, name: str, component: str, *, command: list[str] | None = None) -> Container:
        """A container of `component`'s image named `name` on the run's network (its alias
        there is `name`), labelled with the run; an error if it is not running once started."""
        if self.network is None:
            raise RuntimeError("the run's network is not open: call open() first")
        wanted = image(component)
        with engine_client() as client:
            try:
                client.images.get(wanted)
            except docker.errors.ImageNotFound:
                raise RuntimeError(
                    f"no image {wanted} on this engine; `scripts/images.sh` builds it "
                    "(nothing is pulled from a registry)"
                ) from None
        container = (
            DockerContainer(wanted, docker_client_kw=CLIENT_KW)
            .with_network(self.network)
            .with_network_aliases(name)
            # init: an init process reaps the component's children and passes it SIGTERM, as
            # a service manager would; the component is not PID 1, which ignores signals
            .with_kwargs(labels={**self.labels, COMPONENT_LABEL: name}, init=True)
        )
        if container.image != wanted:  # TESTCONTAINERS_HUB_IMAGE_NAME_PREFIX would pull
            raise RuntimeError(f"testcontainers renamed {wanted} to {container.image}")
        if command:
            container.with_command(command)
        self.containers[name] = container.start()
        started = self.wrapped(name)
        if started.status != "running":
            logs = started.logs(tail=10).decode(errors="replace")
            raise RuntimeError(f"container {name} ({wanted}) is {started.status}: {logs}")
        self.progress(f"containers: {name} started ({wanted}, {self.address(name)})")
        return started

    def wrapped(self, name: str) -> Container:
        """The engine's own handle of the container, state freshly read."""
        if name not in self.containers:
            held = ", ".join(self.containers) or "none"
            raise LookupError(f"no container {name!r} in this run (it has: {held})")
        container = self.containers[name].get_wrapped_container()
        container.reload()
        return container

    def address(self, name: str) -> str:
        """The container's address on the run's network, which this host routes to."""
        networks = self.wrapped(name).attrs["NetworkSettings"]["Networks"]
        if self.network is None or self.network.name not in networks:
            raise LookupError(f"container {name} is not on the run's network")
        return networks[self.network.name]["IPAddress"]

    def close(self) -> None:
        """Every container of the run removed, then its network."""
        self.progress(f"containers: {remove_run({'run': self.run})}")

    def recover_op(self) -> dict[str, Any]:
        return {"op": "remove-run-containers", "run": self.run}


def remove_run(params: dict[str, Any]) -> str:
    """{"run": id}: every container and network labelled with the run removed, paused or
    stopped ones too (one already gone is not an error)."""
    label = _of_run(params["run"])
    with engine_client() as client:
        containers = client.containers.list(all=True, filters=label)
        for container in containers:
            with suppress(docker.errors.NotFound):  # removed meanwhile
                container.remove(force=True)  # SIGKILL, also of a paused container
        networks = client.networks.list(filters=label)
        for network in networks:
            network.remove()
    names = ", ".join(c.labels.get(COMPONENT_LABEL, c.name) for c in containers) or "none"
    return f"removed {len(containers)} containers ({names}) and {len(networks)} networks"


def containers_state(run: str) -> dict[str, str]:
    """component name -> the engine's status of each container of the run."""
    with engine_client() as client:
        found = client.containers.list(all=True, filters=_of_run(run))
        return {c.labels.get(COMPONENT_LABEL, c.name): c.status for c in found}


def _of_run(run: str) -> dict[str, str]:
    """The engine's filter for what carries the run's label."""
    return {"label": f"{RUN_LABEL}={run}"}
