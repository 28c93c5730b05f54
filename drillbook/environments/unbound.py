"""A live profile before live bindings exist: it provides no capability, so every step that
needs one is refused by name before a scenario injects anything."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

from drillbook.environments import MissingCapability
from drillbook.profile import Profile


class UnboundEnvironment:
    kind: ClassVar[str] = "live"
    held_as: ClassVar[str] = "live environment"
    provides: ClassVar[frozenset[str]] = frozenset()

    def __init__(self, profile: Profile, run_dir: Path, progress: Callable[[str], None]) -> None:
        self.profile = profile

    def start(self) -> None:
        """Nothing to start: the harness owns no process of a live environment."""

    def stop(self) -> None:
        """Nothing to stop."""

    def capability(self, name: str) -> Any:
        raise MissingCapability(f"{self.profile.path}: no capability {name!r} is bound")

    def commands_since(self, since: float) -> list[Any]:
        return []

    def recover_op(self) -> dict[str, Any] | None:
        return None
