"""The verdict of a check, and how its figures are written in explanations."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta, timezone

# The DR plan states its times in UTC+8.
PLAN_TZ = timezone(timedelta(hours=8), "UTC+8")


@dataclass(frozen=True)
class CheckResult:
    name: str
    figure: float | None
    unit: str
    threshold: float
    passed: bool
    explanation: str
    details: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return asdict(self)


def clock(epoch: float) -> str:
    """Wall-clock time of day to the hundredth of a second, e.g. '12:00:04.21 UTC+8'."""
    moment = datetime.fromtimestamp(epoch, PLAN_TZ)
    return f"{moment:%H:%M:%S}.{moment.microsecond // 10_000:02d} UTC+8"


def number(value: float) -> str:
    """A threshold or count as written in the plan: no trailing zeros."""
    return f"{value:g}"


def percent(ratio: float) -> str:
    return f"{ratio * 100:.4g}%"
