"""Duration checks: how long a recovery action took, against the plan's limit."""

from __future__ import annotations

from drillbook.checks.result import CheckResult

UNITS = {
    "second": 1.0, "seconds": 1.0, "minute": 60.0, "minutes": 60.0, "hour": 3600.0, "hours": 3600.0,
    "day": 86400.0, "days": 86400.0,
}  # fmt: skip


def to_seconds(value: float, unit: str) -> float:
    """A threshold written in the plan's units ("30 minutes") in seconds."""
    try:
        return value * UNITS[unit]
    except KeyError:
        raise ValueError(f"unknown time unit {unit!r}; use one of {sorted(UNITS)}") from None


def duration_check(name: str, seconds: float | None, limit: float, unit: str) -> CheckResult:
    """`seconds` (None = never finished) against `limit` `unit`. Never finishing is a measured
    outcome: it fails, and the figure reads "never completed"."""
    threshold = to_seconds(limit, unit)
    if seconds is None:
        return CheckResult(
            name,
            None,
            "s",
            threshold,
            False,
            f"{name}: never completed (limit {limit:g} {unit})",
            {},
            note="never completed",
        )
    passed = seconds <= threshold
    verdict = "≤" if passed else ">"
    return CheckResult(
        name,
        seconds,
        "s",
        threshold,
        passed,
        f"{name} {seconds:.2f} s {verdict} {threshold:g} s ({limit:g} {unit})",
        {},
    )
