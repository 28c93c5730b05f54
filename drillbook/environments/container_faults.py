"""The container faults of a run (drillbook.capabilities.containers), each with its revert and
the same revert as a recover op, so a later run undoes them after a SIGKILL of this one."""

from __future__ import annotations

from typing import Any

import docker

from drillbook.capabilities.operation import Operation, fault
from drillbook.faults.recover import recover_op
from drillbook.stack.containers import ContainerRun, engine, remove_run


class ContainerFaults:
    def __init__(self, run: ContainerRun) -> None:
        self.run = run

    def pause(self, name: str) -> Operation[str]:
        return self._fault("pause", name, "unpause-container", lambda c: c.pause())

    def kill(self, name: str) -> Operation[str]:
        return self._fault("kill", name, "start-container", lambda c: c.kill("SIGKILL"))

    def disconnect(self, name: str) -> Operation[str]:
        network = self.run.network.name
        return self._fault(
            "disconnect",
            name,
            "reconnect-container",
            lambda c: c.client.networks.get(network).disconnect(c),
            network=network,
        )

    def _fault(
        self, kind: str, name: str, revert_op: str, act: Any, **params: str
    ) -> Operation[str]:
        container = self.run.wrapped(name)
        recover = {"op": revert_op, "id": container.id, "name": name, **params}

        def run() -> str:
            act(self.run.wrapped(name))
            return container.id[:12]

        def revert() -> None:
            REVERTS[revert_op](recover)

        return fault(kind, f"container {name}", run, revert, recover=recover, id=container.id)


@recover_op("unpause-container")
def unpause(params: dict[str, Any]) -> str:
    """{"id", "name"}: the container unpaused if it is paused (or gone: nothing to do)."""
    return _when_in(params, ("paused",), lambda c: c.unpause(), "unpaused")


@recover_op("start-container")
def start(params: dict[str, Any]) -> str:
    """{"id", "name"}: the container started again if it is not running."""
    return _when_in(params, ("exited", "created"), lambda c: c.start(), "started again")


@recover_op("reconnect-container")
def reconnect(params: dict[str, Any]) -> str:
    """{"id", "name", "network"}: the container back on the network under its name."""
    client = engine()
    try:
        container = _find(client, params["id"])
        if container is None:
            return f"container {params['name']} is gone: nothing to reconnect"
        if params["network"] in container.attrs["NetworkSettings"]["Networks"]:
            return f"container {params['name']} is on {params['network']} already"
        client.networks.get(params["network"]).connect(container, aliases=[params["name"]])
        return f"container {params['name']} reconnected to {params['network']}"
    finally:
        client.close()


def _when_in(params: dict[str, Any], states: tuple[str, ...], act: Any, done: str) -> str:
    """`act` on the container when its status is one of `states`; idempotent, so a revert
    shared by several faults, or run again by a later run, finds nothing left to do."""
    client = engine()
    try:
        container = _find(client, params["id"])
        if container is None:
            return f"container {params['name']} is gone: nothing to revert"
        if container.status not in states:
            return f"container {params['name']} is {container.status}: nothing to revert"
        act(container)
        container.reload()
        return f"container {params['name']} {done} (now {container.status})"
    finally:
        client.close()


def _find(client: Any, container_id: str) -> Any:
    try:
        return client.containers.get(container_id)
    except docker.errors.NotFound:
        return None


recover_op("remove-run-containers")(remove_run)
REVERTS = {"unpause-container": unpause, "start-container": start, "reconnect-container": reconnect}
