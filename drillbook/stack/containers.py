"""Components in containers, through testcontainers, on a Docker engine of this host.

Each component runs in a container of its own from an image scripts/images.sh built locally
(drillbook/<name>:latest; nothing is pulled), on a user-defined network of the run where the
others reach it by its name. Every container and the network carry the run's id as a label,
so a later run can tell what a killed one left (`remove_run`) without any object of it.

Testcontainers' own reaper (Ryuk) would do that too, but its image comes from a registry: it
is disabled here, and the journal's recover ops take its place.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

# Ryuk's image cannot be pulled; set before testcontainers reads its configuration.
os.environ.setdefault("TESTCONTAINERS_RYUK_DISABLED", "true")

import docker  # noqa: E402 (after the setting above)
from docker.models.containers import Container  # noqa: E402
from testcontainers.core.container import DockerContainer  # noqa: E402
from testcontainers.core.network import Network  # noqa: E402

from drillbook.faults.journal import run_id  # noqa: E402

RUN_LABEL = "org.drillbook.run"
COMPONENT_LABEL = "org.drillbook.component"
# Every call to the engine is bounded: a wedged dockerd must not hang a drill.
ENGINE_TIMEOUT_S = 30
STOP_TIMEOUT_S = 5


def image(component: str) -> str:
    """The locally built image of a component (scripts/images.sh tags each build `latest`)."""
    return f"drillbook/{component}:latest"


def engine() -> docker.DockerClient:
    """A client of the host's Docker engine; a clear error when none answers."""
    try:
        client = docker.from_env(timeout=ENGINE_TIMEOUT_S)
        client.ping()
    except docker.errors.DockerException as exc:
        raise RuntimeError(
            f"no Docker engine answers ({exc}); `scripts/images.sh` starts dockerd and builds "
            "the images the containers environment runs"
        ) from exc
    return client


class ContainerRun:
    """The containers of one run and their network, started and removed through
    testcontainers; `recover_op` is how a later run removes them if this one is killed."""

    def __init__(self, progress: Callable[[str], None] = print, run: str | None = None) -> None:
        self.run = run or run_id()
        self.progress = progress
        self.labels = {RUN_LABEL: self.run}
        self.network = Network(docker_network_kw={"labels": self.labels})
        self.containers: dict[str, DockerContainer] = {}

    def open(self) -> None:
        self.network.create()
        self.progress(f"containers: network {self.network.name} for run {self.run}")

    def start(
        self,
        name: str,
        component: str,
        *,
        command: list[str] | None = None,
        env: dict[str, str] | None = None,
    ) -> DockerContainer:
        """A container of `component`'s image named `name` on the run's network (its alias
        there is `name`), labelled with the run."""
        container = (
            DockerContainer(image(component))
            .with_network(self.network)
            .with_network_aliases(name)
            .with_kwargs(labels={**self.labels, COMPONENT_LABEL: name}, init=True)
        )
        if command:
            container.with_command(command)
        for key, value in (env or {}).items():
            container.with_env(key, value)
        self.containers[name] = container.start()
        self.progress(f"containers: {name} started ({image(component)}, {self.address(name)})")
        return container

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
        return networks[self.network.name]["IPAddress"]

    def close(self) -> None:
        """Every container removed, then the network."""
        remove_run({"run": self.run})

    def recover_op(self) -> dict[str, Any]:
        return {"op": "remove-run-containers", "run": self.run}


def remove_run(params: dict[str, Any]) -> str:
    """{"run": id}: every container and network labelled with the run removed, paused or
    stopped ones too."""
    client = engine()
    try:
        label = f"{RUN_LABEL}={params['run']}"
        containers = client.containers.list(all=True, filters={"label": label})
        for container in containers:
            container.remove(force=True)  # SIGKILL, also of a paused container
        networks = client.networks.list(filters={"label": label})
        for network in networks:
            network.remove()
    finally:
        client.close()
    names = ", ".join(c.name for c in containers) or "none"
    return f"removed {len(containers)} containers ({names}) and {len(networks)} networks"


def containers_state(run: str) -> dict[str, str]:
    """component name -> the engine's status of each container of the run."""
    client = engine()
    try:
        found = client.containers.list(all=True, filters={"label": f"{RUN_LABEL}={run}"})
        return {c.labels.get(COMPONENT_LABEL, c.name): c.status for c in found}
    finally:
        client.close()
