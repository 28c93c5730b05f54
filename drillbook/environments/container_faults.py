"""Faults only containers offer: a node frozen, killed, or cut off its network. Each comes with
its revert and the same revert as a recover op, so a later run undoes it after a SIGKILL of
this one; reverts are idempotent, so a revert run twice finds nothing left to do."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import docker
from docker.models.containers import Container

from drillbook.capabilities.operation import Operation, fault
from drillbook.faults.recover import recover_op, run_recover
from drillbook.stack.containers import ContainerRun, engine_client, remove_run


class ContainerFaults:
    def __init__(self, run: ContainerRun) -> None:
        self.run = run

    def pause(self, name: str) -> Operation[str]:
        """Every process of the container frozen (the cgroup freezer), as Pumba's pause: a
        node that holds its connections and answers nothing. Reverted by unpausing it."""
        return self._fault("pause", name, "unpause-container", lambda c: c.pause())

    def kill(self, name: str) -> Operation[str]:
        """SIGKILL of the container's processes. Reverted by starting it again."""
        return self._fault("kill", name, "start-container", lambda c: c.kill("SIGKILL"))

    def disconnect(self, name: str) -> Operation[str]:
        """The container taken off the run's network. Reverted by connecting it again under
        its name (the engine gave it its address back here; it does not promise to)."""
        network = self.run.network.name if self.run.network else ""
        return self._fault(
            "disconnect",
            name,
            "reconnect-container",
            lambda c: c.client.networks.get(network).disconnect(c),
            network=network,
        )

    def _fault(
        self,
        kind: str,
        name: str,
        revert_op: str,
        act: Callable[[Container], object],
        **params: str,
    ) -> Operation[str]:
        container = self.run.wrapped(name)
        recover = {"op": revert_op, "id": container.id, "name": name, **params}

        def run() -> str:
            act(self.run.wrapped(name))
            return container.short_id

        def revert() -> None:
            run_recover(recover)

        return fault(kind, f"container {name}", run, revert, recover=recover, id=container.id)


@recover_op("unpause-container")
def unpause(params: dict[str, Any]) -> str:
    """{"id", "name"}: the container unpaused if it is paused."""
    return _when_in(params, ("paused",), lambda c: c.unpause(), "unpaused")


@recover_op("start-container")
def start(params: dict[str, Any]) -> str:
    """{"id", "name"}: the container started again if it is not running."""
    return _when_in(params, ("exited", "created"), lambda c: c.start(), "started again")


@recover_op("reconnect-container")
def reconnect(params: dict[str, Any]) -> str:
    """{"id", "name", "network"}: the container back on the network under its name."""
    name, network = params["name"], params["network"]
    with engine_client() as client:
        container = _find(client.containers, params["id"])
        attached = _find(client.networks, network)
        if container is None or attached is None:
            return f"container {name} or network {network} is gone: nothing to reconnect"
        if network in container.attrs["NetworkSettings"]["Networks"]:
            return f"container {name} is on {network} already"
        attached.connect(container, aliases=[name])
        return f"container {name} reconnected to {network}"


def _when_in(
    params: dict[str, Any], states: tuple[str, ...], act: Callable[[Container], object], done: str
) -> str:
    """`act` on the container when its status is one of `states`."""
    with engine_client() as client:
        container = _find(client.containers, params["id"])
        if container is None:
            return f"container {params['name']} is gone: nothing to revert"
        if container.status not in states:
            return f"container {params['name']} is {container.status}: nothing to revert"
        act(container)
        container.reload()
        return f"container {params['name']} {done} (now {container.status})"


def _find(collection: Any, key: str) -> Any:
    """The engine's container or network of that id or name; None when it is gone."""
    try:
        return collection.get(key)
    except docker.errors.NotFound:
        return None


recover_op("remove-run-containers")(remove_run)
