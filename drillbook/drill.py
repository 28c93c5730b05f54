"""What one drill run knows: its history, its fault instant T0, its results and its evidence."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from drillbook.checks import CheckResult
from drillbook.evidence.allure import Evidence
from drillbook.stack.commands import CommandLog
from drillbook.workload import History, Workload

MONTHS = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip


@dataclass
class Drill:
    """The state of one scenario run, shared by its steps."""

    scenario: str
    feature: Path
    line: int
    tags: set[str]
    out_dir: Path
    started_at: float = field(default_factory=time.time)
    history: History = field(default_factory=History)
    evidence: Evidence = field(default_factory=Evidence)
    workload: Workload | None = None
    t0: float | None = None
    recovered_at: float | None = None
    marks: dict[str, float] = field(default_factory=dict)
    results: list[CheckResult] = field(default_factory=list)
    facts: dict[str, Any] = field(default_factory=dict)
    failure: str | None = None
    commands: CommandLog | None = None

    @property
    def month(self) -> int | None:
        for tag in self.tags:
            if tag.startswith("month_") and tag[6:].isdigit():
                return int(tag[6:])
        return None

    @property
    def started(self) -> bool:
        return self.workload is not None

    def mark_fault(self) -> float:
        """T0: the first fault of the drill. Later faults do not move it."""
        if self.t0 is None:
            self.t0 = time.time()
        return self.t0

    def stop_workload(self) -> None:
        if self.workload is not None:
            self.workload.stop()

    def check(self, result: CheckResult) -> CheckResult:
        """Record a check and fail, naming figure, threshold and evidence, if it failed."""
        self.results.append(result)
        self.evidence.attach_json(f"check: {result.name}", result.as_dict())
        measured = "nothing" if result.figure is None else f"{result.figure:.3f} {result.unit}"
        assert result.passed, (
            f"{result.name} check failed: {result.explanation} (measured {measured}, "
            f"threshold {result.threshold:g} {result.unit}; evidence: {self.out_dir})"
        )
        return result

    def fault_window(self) -> tuple[float, float]:
        """From T0 to the last restore of a fault (or now, if none was restored)."""
        restores = [at for name, at in self.marks.items() if name.endswith(" restored")]
        return self.require_t0(), max(restores, default=time.time())

    def require_t0(self) -> float:
        if self.t0 is None:
            raise AssertionError("no fault was injected in this scenario, so there is no T0")
        return self.t0
