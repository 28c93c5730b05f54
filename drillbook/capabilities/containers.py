"""Faults only containers offer: a node frozen, killed, or cut off its network."""

from __future__ import annotations

from typing import Protocol

from drillbook.capabilities.operation import Operation


class Containers(Protocol):
    def pause(self, name: str) -> Operation[str]:
        """Every process of the container frozen (the cgroup freezer), as Pumba's pause: a
        node that holds its connections and answers nothing. Reverted by unpausing it."""
        ...

    def kill(self, name: str) -> Operation[str]:
        """SIGKILL of the container's processes. Reverted by starting it again."""
        ...

    def disconnect(self, name: str) -> Operation[str]:
        """The container taken off the run's network. Reverted by connecting it again under
        its name."""
        ...
