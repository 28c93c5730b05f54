"""The cache: a Redis primary with AOF and a replica (plan section 3.1)."""

from __future__ import annotations

from typing import Any, Protocol

import redis

from drillbook.capabilities.operation import Operation

# The cache's nodes, as steps and profiles name them.
NODES = ("primary", "replica")
# The target the primary's memory limit is journaled under (apart from the primary's own
# faults, so that restoring it heals nothing else).
MEMORY_TARGET = "redis primary memory"


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

    def exhaust_memory(self) -> Operation[dict]:
        """The primary out of memory, as a node resized below its data: its limit cut to 1
        byte under volatile-lru, so that the keys that expire (the cached results, the quota
        counters) are evicted and every write is refused (OOM) while reads answer. Reverted
        by the limit and policy it had; the result says both. What was evicted stays gone:
        the cache refills as lookups miss, and a user's quota counter is rebuilt from the
        usage records at the user's next lookup."""
        ...

    def info(self, node: str, section: str) -> dict[str, Any]: ...
