"""The live cache: Redis nodes by the URLs clients use, broken and repaired by bindings."""

from __future__ import annotations

import time
from dataclasses import replace
from functools import partial
from typing import TYPE_CHECKING, Any

import redis

from drillbook.capabilities.cache import NODES
from drillbook.capabilities.operation import Operation
from drillbook.environments.common import converted, exhaust_memory
from drillbook.environments.live.database import pid_of
from drillbook.environments.live.recovery import recoverable
from drillbook.waits import wait_until

if TYPE_CHECKING:  # the capabilities only call what a Bindings offers
    from drillbook.environments.live.bindings import Bindings

# Every command of the harness to a node: connect and answer.
SOCKET_TIMEOUT_S = 1.0
EXHAUST = "cache.exhaust_memory"


def check_node(node: str) -> str:
    if node not in NODES:
        raise LookupError(f"no Redis node {node!r}; the nodes are {list(NODES)}")
    return node


class LiveCache:
    """`urls`: node ("primary", "replica") -> its URL through clients' path;
    `ready_timeout_s` bounds the wait for a restarted primary to load its data."""

    def __init__(self, urls: dict[str, str], bindings: Bindings, ready_timeout_s: float) -> None:
        self.urls = urls
        self.bindings = bindings
        self.ready_timeout_s = ready_timeout_s

    def url(self, node: str) -> str:
        if check_node(node) not in self.urls:
            raise LookupError(
                f"the profile names no URL of the Redis {node} (live.endpoints.redis)"
            )
        return self.urls[node]

    def client(self, node: str) -> redis.Redis:
        return redis.Redis.from_url(
            self.url(node), socket_timeout=SOCKET_TIMEOUT_S, socket_connect_timeout=SOCKET_TIMEOUT_S
        )

    def info(self, node: str, section: str) -> dict[str, Any]:
        with self.client(node) as client:
            return client.info(section)

    def kill_primary(self) -> Operation[int | None]:
        """Its result: the pid the binding reports killing, None when it reports none."""
        operation = self.bindings.operation("cache.kill_primary", "kill -9", "redis primary", {})
        return converted(operation, pid_of)

    def wipe_primary(self) -> Operation[None]:
        return self.bindings.operation(
            "cache.wipe_primary", "AOF and RDB deleted", "redis primary", {}
        )

    def restart_primary(self) -> Operation[float]:
        """The binding restarts it; its result is the seconds until the primary has loaded its
        data: the binding's "loaded_s" when it reports one, else measured from the binding's
        start until the primary answers with nothing left to load."""
        operation = self.bindings.operation("cache.restart_primary", "restart", "redis primary", {})
        run = operation.run

        def restart() -> float:
            started = time.monotonic()
            answer = run()
            self._wait_loaded()
            reported = answer.get("loaded_s") if isinstance(answer, dict) else None
            if isinstance(reported, int | float):
                return float(reported)
            return time.monotonic() - started

        return replace(operation, run=restart)

    def exhaust_memory(self) -> Operation[dict]:
        """Through the primary's URL (CONFIG SET), and undone the same way by a later run if
        this one is killed (a managed Redis that disables CONFIG refuses it, naming it)."""
        operation = exhaust_memory(partial(self.client, "primary"))
        before = operation.detail["before"]
        return recoverable(operation, self.bindings.profile_path, EXHAUST, before=before)

    def promote_replica(self) -> Operation[None]:
        return self.bindings.operation("cache.promote_replica", "promote", "redis replica", {})

    def _wait_loaded(self) -> None:
        def loaded() -> tuple[bool, Any]:
            loading = self.info("primary", "persistence").get("loading")
            return loading == 0, f"loading: {loading}"

        wait_until("the Redis primary to load its data", loaded, self.ready_timeout_s)
