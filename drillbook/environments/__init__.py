"""Environments: what a profile's `kind` selects, and the capabilities each provides.

An environment is started once per test session and hands out capabilities by name
(drillbook.capabilities). Which capabilities it provides is known from the class alone, before
anything starts, so a scenario whose steps need one it lacks is refused before it injects
anything.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar, Protocol

from drillbook.profile import Profile


class MissingCapability(LookupError):
    """The selected environment does not provide a capability a step needs."""


class Environment(Protocol):
    """A running environment of some kind."""

    kind: ClassVar[str]
    provides: ClassVar[frozenset[str]]
    # What the fault journal calls it while the harness holds it (started, not yet stopped).
    held_as: ClassVar[str]

    def __init__(
        self, profile: Profile, run_dir: Path, progress: Callable[[str], None]
    ) -> None: ...

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
    from drillbook.environments.unbound import UnboundEnvironment

    return UnboundEnvironment


def capability_refusal(profile: Profile, name: str) -> str | None:
    """Why the profile's environment cannot give capability `name`, or None if it can."""
    cls = environment_class(profile)
    if name in cls.provides:
        return None
    offered = ", ".join(sorted(cls.provides)) or "none"
    return (
        f"the environment {profile.name!r} ({profile.kind}, {profile.path}) does not provide "
        f"the capability {name!r} (it provides: {offered})"
    )
