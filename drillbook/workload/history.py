"""The history of operations the workload's clients saw, in Jepsen's vocabulary.

Every operation ends as "ok" (it happened), "fail" (it certainly did not happen) or "info"
(indeterminate: it may or may not have happened, e.g. a timeout after the request was sent).
"""

from __future__ import annotations

import json
import threading
from dataclasses import asdict, dataclass
from pathlib import Path

OUTCOMES = ("ok", "fail", "info")


@dataclass(frozen=True)
class Op:
    process: str
    f: str
    start: float
    end: float
    outcome: str
    value: object = None
    status: int | None = None
    error: str | None = None
    # the W3C trace id an HTTP request carried, which the service adopts and an alert may name
    trace_id: str | None = None

    def __post_init__(self) -> None:
        if self.outcome not in OUTCOMES:
            raise ValueError(f"Op outcome must be one of {OUTCOMES}, got {self.outcome!r}")

    @property
    def latency(self) -> float:
        return self.end - self.start


class HistoryFrozen(RuntimeError):
    """An operation recorded after the drill began to be observed."""


class History:
    """Append-only, thread-safe record of operations from every client of a drill."""

    def __init__(self, ops: list[Op] | None = None) -> None:
        self._ops: list[Op] = list(ops or ())
        self._lock = threading.Lock()
        self._frozen = False

    def record(self, op: Op) -> None:
        with self._lock:
            if self._frozen:
                raise HistoryFrozen(f"the history is frozen for observation: {op.process} {op.f}")
            self._ops.append(op)

    def freeze(self) -> None:
        """No operation is recorded from now on: what the checks read stays as it is."""
        with self._lock:
            self._frozen = True

    def ops(self, process: str | None = None, prefix: str | None = None) -> list[Op]:
        """Operations sorted by invocation time, optionally only one process or a family."""
        with self._lock:
            selected = [
                op
                for op in self._ops
                if (process is None or op.process == process)
                and (prefix is None or op.process.startswith(prefix))
            ]
        selected.sort(key=lambda op: (op.start, op.end))
        return selected

    def to_jsonl(self, path: str | Path) -> Path:
        path = Path(path)
        lines = [json.dumps(asdict(op), default=str) for op in self.ops()]
        path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
        return path

    @classmethod
    def from_jsonl(cls, path: str | Path) -> History:
        path = Path(path)
        ops = []
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if not line.strip():
                continue
            try:
                ops.append(Op(**json.loads(line)))
            except (ValueError, TypeError) as exc:
                raise ValueError(f"{path}:{number}: not an operation record: {exc}") from exc
        return cls(ops)

    def __len__(self) -> int:
        with self._lock:
            return len(self._ops)


def short_error(exc: BaseException, limit: int = 200) -> str:
    """First line of an exception, prefixed with its type, bounded for the history."""
    lines = str(exc).strip().splitlines()
    text = f"{type(exc).__name__}: {lines[0]}" if lines else type(exc).__name__
    return text[:limit]
