"""Heals of the local environment: each puts one part back to its clean state.

They are what the fault journal calls to revert a fault. Each is idempotent, so faults that
share a heal (kill, promote and switch of one failover) are undone by its first call.
"""

from __future__ import annotations

from drillbook.stack import LocalStack


def heal_database(stack: LocalStack) -> None:
    """az-a primary, az-b streaming standby, the service connected to az-a, no data lost; the
    standby region's database, if a standby, re-seeded from the rebuilt az-b, whose WAL it
    cannot follow (without waiting: the link between the regions may still be cut). One that
    took writes is left as it is: its takeover's revert decides."""
    rebuilt = stack.pg.restore_topology()
    stack.service.switch_database(stack.pg.primary.app_dsn)
    standby = stack.standby
    if rebuilt and standby is not None and standby.database.is_in_recovery():
        standby.reseed_database(wait=False)


def heal_redis(stack: LocalStack) -> None:
    """Redis primary up and followed by its replica, their proxies clean, the service on the
    primary; what a promoted replica took before the heal is kept (see restore_topology)."""
    for node in stack.redis.nodes:
        stack.toxiproxy.reset_proxy(node.name)
    stack.redis.restore_topology()
    stack.service.switch_redis(stack.redis.primary.url)


def heal_export_worker(stack: LocalStack) -> None:
    """An export worker running: a new consumer; what a killed one held waits for a replay."""
    stack.export_worker.ensure_running()
