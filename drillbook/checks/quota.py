"""Quota compensation: after Redis lost its counters and the job rebuilt them, every user's
quota agrees with their usage records in PostgreSQL (plan 4.1, May)."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from drillbook.checks.result import CheckResult, not_measured


@dataclass(frozen=True)
class QuotaSample:
    user: str
    limit: int
    usage: int  # the user's lookups of the day in PostgreSQL, the authoritative record
    counter: int | None  # the service's Redis counter (None: missing)
    status: int  # what one more lookup answered: 200 served, 429 refused


def quota_consistency(samples: list[QuotaSample]) -> CheckResult:
    """Users whose counter differs from their usage, or whose next lookup was granted beyond
    the limit or refused below it."""
    problems = {s.user: _problems(s) for s in samples}
    wrong = {user: found for user, found in problems.items() if found}
    details = {"users": [asdict(s) for s in samples], "problems": wrong}
    name = "users with a wrong quota"
    if not samples:
        return not_measured(name, "users", 0, "no user's quota was sampled", details)
    first = "; ".join(f"{user}: {', '.join(found)}" for user, found in list(wrong.items())[:5])
    explanation = f"{len(wrong)} of {len(samples)} users inconsistent with their usage records" + (
        f": {first}" if wrong else ": counters equal usage, the limit holds for each"
    )
    return CheckResult(name, len(wrong), "users", 0, not wrong, explanation, details)


def _problems(s: QuotaSample) -> list[str]:
    found = []
    if s.counter is None:
        found.append("no counter (not recomputed)")
    elif s.counter < s.usage:
        found.append(f"counter {s.counter} < {s.usage} recorded (grants beyond the records)")
    elif s.counter > s.usage:
        found.append(f"counter {s.counter} > {s.usage} recorded (blocks too early)")
    over = s.usage >= s.limit
    if over and s.status != 429:
        found.append(f"{s.usage} of {s.limit} used, next lookup answered {s.status}, not 429")
    if not over and s.status != 200:
        found.append(f"{s.usage} of {s.limit} used, next lookup refused with {s.status}")
    return found
