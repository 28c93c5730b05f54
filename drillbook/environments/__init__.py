"""Environments: what a profile's `kind` selects, and the capabilities each provides.

An environment is started once per test session and hands out capabilities by name
(drillbook.capabilities). Which capabilities it provides, and which operations it can carry out,
are known from its class and profile alone, before anything starts, so a scenario whose steps
need one it lacks, or one the profile does not allow, is refused before it injects anything.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Protocol

from drillbook.environments.live.operations import fault_names
from drillbook.profile import Profile


class MissingCapability(LookupError):
    """The selected environment does not provide a capability a step needs."""


@dataclass(frozen=True)
class Finding:
    """One line of a preflight: what was checked, whether it is ready, and what was seen."""

    what: str
    ok: bool
    detail: str


class Environment(Protocol):
    """A running environment of some kind."""

    kind: ClassVar[str]
    # What the fault journal calls it while the harness holds it (started, not yet stopped).
    held_as: ClassVar[str]

    def __init__(
        self, profile: Profile, run_dir: Path, progress: Callable[[str], None]
    ) -> None: ...

    @classmethod
    def provides_for(cls, profile: Profile) -> frozenset[str]:
        """The capabilities an environment of this class provides under `profile`."""
        ...

    @classmethod
    def operation_refusal(cls, profile: Profile, operation: str) -> str | None:
        """Why `operation` (e.g. "database.kill_primary") cannot be carried out, or None."""
        ...

    @classmethod
    def preflight(cls, profile: Profile, capabilities: list[str]) -> list[Finding]:
        """Whether each capability is ready to use (reachable, authenticated); injects nothing."""
        ...

    @classmethod
    def preflight_operation(cls, profile: Profile, operation: str) -> list[Finding]:
        """Whether the operation can be carried out and reverted; injects nothing."""
        ...

    @classmethod
    def describe_operation(cls, profile: Profile, operation: str, params: dict[str, str]) -> str:
        """One line saying how the operation would be carried out (for a dry run)."""
        ...

    def start(self) -> None: ...

    def stop(self) -> None: ...

    def capability(self, name: str) -> Any: ...

    def commands_since(self, since: float) -> list[Any]:
        """The commands the environment ran since `since` (epoch seconds), for the evidence."""
        ...

    def recover_op(self) -> dict[str, Any] | None:
        """How a later run stops what this one started, if it is killed (an op of
        drillbook.faults.recover); None when nothing of it outlives the harness."""
        ...


def environment_class(profile: Profile) -> type[Environment]:
    """The class of environment a profile selects; imported lazily, so selecting one kind
    never needs another kind's dependencies."""
    if profile.kind == "local":
        from drillbook.environments.local import LocalEnvironment

        return LocalEnvironment
    from drillbook.environments.live.environment import LiveEnvironment

    return LiveEnvironment


def capability_refusal(profile: Profile, name: str) -> str | None:
    """Why the profile's environment cannot give capability `name`, or None if it can."""
    provided = environment_class(profile).provides_for(profile)
    if name in provided:
        return None
    offered = ", ".join(sorted(provided)) or "none"
    return (
        f"the environment {profile.name!r} ({profile.kind}, {profile.path}) does not provide "
        f"the capability {name!r} (it provides: {offered})"
    )


def operation_refusal(profile: Profile, operation: str) -> str | None:
    """Why `operation` cannot run under the profile: a fault its `allow_faults` leaves out, or
    one its environment cannot carry out (a live profile that does not bind it); else None."""
    allowed = profile.allow_faults
    if allowed is not None and operation in fault_names() and operation not in allowed:
        return (
            f"{profile.path} allows only the faults {', '.join(allowed) or '(none)'} "
            f"(allow_faults), not {operation!r}"
        )
    return environment_class(profile).operation_refusal(profile, operation)
