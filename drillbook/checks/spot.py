"""A spot check's verdict (plan 4.3: 随机抽 N 条 ...): items drawn at random from a population,
each verified on its own; the figure is the items found wrong."""

from __future__ import annotations

from collections.abc import Mapping

from drillbook.checks.result import CheckResult, not_measured
from drillbook.objects import Current

SHOWN = 5


def sampled(
    name: str, unit: str, population: int, problems: Mapping[str, str | None]
) -> CheckResult:
    """`problems` maps each drawn item to what is wrong with it (None: nothing) of a population
    of `population`; not measured when there was nothing to draw from."""
    if not problems:
        why = f"nothing to draw from: the population of {unit} was empty"
        return not_measured(name, unit, 0, why, {"population": population})
    wrong = {item: problem for item, problem in problems.items() if problem is not None}
    listed = "; ".join(f"{item}: {problem}" for item, problem in list(wrong.items())[:SHOWN])
    explanation = (
        f"{len(problems) - len(wrong)} of {len(problems)} {unit} drawn at random (of "
        f"{population}) verified" + (f"; wrong: {listed}" if wrong else "")
    )
    details = {"population": population, "drawn": list(problems), "wrong": wrong}
    return CheckResult(name, len(wrong), unit, 0, not wrong, explanation, details)


def row_problem(write_id: int, found: Mapping[int, str], expected: str, where: str) -> str | None:
    """What is wrong with row `write_id` as `where` holds it (`found`: id -> payload)."""
    if write_id not in found:
        return f"missing from {where}"
    return None if found[write_id] == expected else f"payload {found[write_id]!r}"


def content_problem(found: Current, expected_sha256: str) -> str | None:
    """What is wrong with an object's current version against the bytes that were written."""
    if found.error is not None:
        return found.error
    return (
        None
        if found.sha256 == expected_sha256
        else f"sha256 {found.sha256}, wrote {expected_sha256}"
    )
