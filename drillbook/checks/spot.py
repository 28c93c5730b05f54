"""A spot check's verdict (plan 4.3: 随机抽 N 条 ...): items drawn at random from a population,
each verified on its own; the figure is the items found wrong."""

from __future__ import annotations

from collections.abc import Mapping

from drillbook.checks.result import CheckResult, not_measured

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
