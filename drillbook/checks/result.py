"""The verdict of a check, and how its figures are written in explanations.

A verdict is one of three: pass, fail, or not measured. A check that had nothing to measure
(no sample, no write before T0, a process that never stopped) says so and fails; it never
passes with a figure of 0.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta, timezone

# The DR plan states its times in UTC+8.
PLAN_TZ = timezone(timedelta(hours=8), "UTC+8")
PASS, FAIL, NOT_MEASURED = "pass", "fail", "not measured"


@dataclass(frozen=True)
class CheckResult:
    name: str
    figure: float | None
    unit: str
    threshold: float
    passed: bool
    explanation: str
    details: dict = field(default_factory=dict)
    # False when the check had nothing to measure: the verdict is then "not measured".
    measured: bool = True
    # What the figure reads as when it is not a number ("no outage observed").
    note: str | None = None

    def __post_init__(self) -> None:
        if not self.measured and self.passed:
            raise ValueError(f"{self.name}: a check that measured nothing cannot pass")

    @property
    def verdict(self) -> str:
        if not self.measured:
            return NOT_MEASURED
        return PASS if self.passed else FAIL

    @property
    def shown(self) -> str:
        """The figure as the ledger and the report print it."""
        if not self.measured:
            return NOT_MEASURED
        if self.note is not None:
            return self.note
        if self.figure is None:
            return "no figure"
        return figure_text(self.figure, self.unit)

    def as_dict(self) -> dict:
        return asdict(self) | {"verdict": self.verdict, "shown": self.shown}


def not_measured(
    name: str, unit: str, threshold: float, why: str, details: dict | None = None
) -> CheckResult:
    """The verdict of a check that had nothing to measure: it fails, saying why."""
    return CheckResult(
        name,
        None,
        unit,
        threshold,
        False,
        f"{name} not measured: {why}",
        dict(details or {}),
        measured=False,
    )


def figure_text(value: float, unit: str) -> str:
    """A figure with its unit: seconds to the hundredth, ratios and counts as they are."""
    if unit == "s" or unit.startswith("s "):  # seconds, or "s of writes"
        return f"{value:.2f} {unit}"
    if unit == "%":
        return f"{value:.4g} %"
    return f"{value:g} {unit}"


def clock(epoch: float) -> str:
    """Wall-clock time of day to the hundredth of a second, e.g. '12:00:04.21 UTC+8'."""
    moment = datetime.fromtimestamp(epoch, PLAN_TZ)
    return f"{moment:%H:%M:%S}.{moment.microsecond // 10_000:02d} UTC+8"


def number(value: float) -> str:
    """A threshold or count as written in the plan: no trailing zeros."""
    return f"{value:g}"


def percent(ratio: float) -> str:
    return f"{ratio * 100:.4g}%"
