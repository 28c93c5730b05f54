"""The cache: a Redis primary with AOF and a replica (plan section 3.1)."""

from __future__ import annotations

from typing import Any, Protocol

import redis

from drillbook.capabilities.operation import Operation

# The cache's nodes, as steps and profiles name them.
NODES = ("primary", "replica")


class Cache(Protocol):
    def url(self, node: str) -> str:
        """The node's URL ("primary" or "replica") through the network path clients use."""
        ...

    def client(self, node: str) -> redis.Redis: ...

    def kill_primary(self) -> Operation[int]:
        """kill -9 of the primary (its result: the pid killed)."""
        ...

    def wipe_primary(self) -> Operation[None]:
        """The killed primary's AOF and RDB deleted, so it restarts empty."""
        ...

    def restart_primary(self) -> Operation[float]:
        """Start the primary from its data directory; its result: seconds until loaded."""
        ...

    def promote_replica(self) -> Operation[None]:
        """REPLICAOF NO ONE on the replica."""
        ...

    def info(self, node: str, section: str) -> dict[str, Any]: ...
