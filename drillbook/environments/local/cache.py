"""The local cache: the stack's Redis primary ("redis") and replica ("redis-replica")."""

from __future__ import annotations

from functools import partial
from typing import Any

import redis

from drillbook.capabilities.cache import NODES
from drillbook.capabilities.operation import Operation, fault, remediation
from drillbook.environments.common import exhaust_memory
from drillbook.environments.local.heal import heal_redis
from drillbook.stack import LocalStack
from drillbook.stack.redis import RedisNode


def redis_node(stack: LocalStack, node: str) -> RedisNode:
    if node not in NODES:
        raise LookupError(f"no Redis node {node!r}; the nodes are {list(NODES)}")
    return stack.redis.primary if node == "primary" else stack.redis.replica


class LocalCache:
    def __init__(self, stack: LocalStack) -> None:
        self.stack = stack

    def url(self, node: str) -> str:
        return redis_node(self.stack, node).url

    def client(self, node: str) -> redis.Redis:
        return redis_node(self.stack, node).client()

    def info(self, node: str, section: str) -> dict[str, Any]:
        return redis_node(self.stack, node).info(section)

    def exhaust_memory(self) -> Operation[dict]:
        return exhaust_memory(partial(self.client, "primary"))

    def kill_primary(self) -> Operation[int]:
        primary = self.stack.redis.primary
        pid = primary.pid()
        if pid is None:
            raise RuntimeError("the Redis primary is not running, so it cannot be killed")

        def kill() -> int:
            primary.kill9()
            return pid

        return fault("kill -9", "redis primary", kill, self._heal, pid=pid)

    def wipe_primary(self) -> Operation[None]:
        """What a lost disk does: the restarted primary starts empty, and its replica resyncs
        from it, so both lose everything."""
        return fault(
            "AOF and RDB deleted", "redis primary", self.stack.redis.primary.wipe, self._heal
        )

    def restart_primary(self) -> Operation[float]:
        """From whatever its data directory holds: the AOF, or nothing; waits until loaded."""
        return remediation("restart", "redis primary", self.stack.redis.primary.start)

    def promote_replica(self) -> Operation[None]:
        replica = self.stack.redis.replica
        return remediation("promote", "redis replica", replica.promote, self._heal)

    def _heal(self) -> None:
        heal_redis(self.stack)
