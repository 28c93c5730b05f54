"""A fault or a remediation, as data and the callables that carry it out and revert it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

T = TypeVar("T")

FAULT = "fault"
REMEDIATION = "remediation"
ROLES = (FAULT, REMEDIATION)


@dataclass(frozen=True)
class Operation(Generic[T]):
    """Something a drill does to its environment.

    `role` says whether it breaks something (a fault: the first one is T0) or repairs it (a
    remediation: promote, switch an endpoint, restore, replay). `revert` puts the environment
    back as it was before the operation: the fault journal calls it on teardown, SIGINT and
    SIGTERM; `recover` is the same revert as data, for a later run when this one was killed
    (an op of drillbook.faults.recover). An operation with no revert changes nothing that
    needs undoing (a replay, a restart of what a fault killed).
    """

    role: str
    kind: str
    target: str
    run: Callable[[], T]
    revert: Callable[[], None] | None = None
    recover: dict[str, Any] | None = None
    detail: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.role not in ROLES:
            raise ValueError(f"operation role must be one of {ROLES}, not {self.role!r}")
        if self.role == FAULT and self.revert is None:
            raise ValueError(f"fault {self.kind} on {self.target} says nothing of its revert")


def fault(
    kind: str,
    target: str,
    run: Callable[[], T],
    revert: Callable[[], None],
    *,
    recover: dict[str, Any] | None = None,
    **detail: Any,
) -> Operation[T]:
    """A fault: it must say how it is reverted."""
    return Operation(FAULT, kind, target, run, revert, recover, detail)


def remediation(
    kind: str,
    target: str,
    run: Callable[[], T],
    revert: Callable[[], None] | None = None,
    *,
    recover: dict[str, Any] | None = None,
    **detail: Any,
) -> Operation[T]:
    """A remediation, with the revert that puts the drill's topology back if it has one."""
    return Operation(REMEDIATION, kind, target, run, revert, recover, detail)
