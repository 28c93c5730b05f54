"""Heal operations: each puts one part of an environment back to its clean state.

They are what the fault journal calls to revert a fault. Each is idempotent, so faults that
share a heal (kill, promote and switch of one failover) are undone by its first call.
"""

from __future__ import annotations

from drillbook.stack import LocalStack


def heal_database(stack: LocalStack) -> None:
    """az-a primary, az-b streaming standby, the service connected to az-a, no data lost."""
    stack.pg.restore_topology()
    stack.service.switch_database(stack.pg.primary.app_dsn)


def heal_network(stack: LocalStack) -> None:
    """Every proxy enabled and free of toxics (Toxiproxy's reset)."""
    stack.toxiproxy.reset()
