"""A log of the commands an environment ran, kept as evidence of what a drill did."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass

from drillbook.hashing import sha256_hex


@dataclass(frozen=True)
class CommandRecord:
    at: float
    command: str
    output: str
    ok: bool


class CommandLog:
    """Thread-safe, append-only; a drill attaches what was run since it started."""

    def __init__(self) -> None:
        self._records: list[CommandRecord] = []
        self._lock = threading.Lock()

    def add(self, command: Sequence[str] | str, output: str, ok: bool = True) -> None:
        text = command if isinstance(command, str) else " ".join(command)
        with self._lock:
            self._records.append(CommandRecord(time.time(), text, output, ok))

    def since(self, at: float) -> list[CommandRecord]:
        with self._lock:
            return [r for r in self._records if r.at >= at]


def render(records: list[CommandRecord]) -> str:
    """One block per command: the command, its output and the SHA-256 of that output."""
    blocks = []
    for r in records:
        status = "" if r.ok else "  (failed)"
        blocks.append(
            f"$ {r.command}{status}\n{r.output.rstrip()}\n[output sha256: {sha256_hex(r.output)}]"
        )
    return "\n\n".join(blocks) + "\n"
