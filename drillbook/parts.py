"""A scenario in parts, as the November drill runs (seed 4.1, 大促前综合演练): several drills'
scripts in one scenario against one workload, within 2 hours, "所有脚本一次通过".

The parts are the scenario's marker steps, known before its first step runs, so a part the
scenario never reached is still listed. A part runs from its marker to the next one or to the
first Then. Steps are never retried, so a part passed the first time when none of its steps
raised; the part a step raised in failed (or was interrupted by a signal), and the parts after
it were not reached. A step raising before the first part leaves every part not reached. The
checks (the Then lines) are the drill's to judge; the parts are about the scripts.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import parse

from drillbook.checks.result import CheckResult, not_measured

PART_STEP = 'the part "{name}" of the rehearsal begins'
_PART = parse.compile(PART_STEP)
PASSED, FAILED, NOT_REACHED, INTERRUPTED = (
    "passed the first time", "failed", "not reached", "interrupted",
)  # fmt: skip


@dataclass(frozen=True)
class Part:
    name: str
    line: int  # of its marker step in the feature
    begun_at: float | None = None  # when its marker ran; None while not reached


def declared_parts(steps: Iterable[tuple[int, str]]) -> list[Part]:
    """The parts the marker steps among `steps` (line, text) declare, in order; a name used
    twice is refused, naming both lines."""
    parts: list[Part] = []
    for line, text in steps:
        match = _PART.parse(text)
        if match is None:
            continue
        twin = next((part for part in parts if part.name == match["name"]), None)
        if twin is not None:
            raise ValueError(
                f'the part "{match["name"]}" begins twice, at lines {twin.line} and {line}: '
                "name each part once"
            )
        parts.append(Part(match["name"], line))
    return parts


def part_outcomes(
    parts: Sequence[Part], failed_line: int | None, interrupted_line: int | None = None
) -> list[dict[str, object]]:
    """Each part with its outcome, given the line of the first Given/When step that raised
    (None: none did) and, for a drill stopped by a signal before its first Then, the line of
    the step it stopped in."""
    stop_line, stopped_as = (
        (failed_line, FAILED) if failed_line is not None else (interrupted_line, INTERRUPTED)
    )
    outcomes = []
    for n, part in enumerate(parts):
        ends = parts[n + 1].line if n + 1 < len(parts) else None
        if stop_line is None or (ends is not None and stop_line >= ends):
            outcome = PASSED
        elif stop_line >= part.line:
            outcome = stopped_as
        else:
            outcome = NOT_REACHED
        outcomes.append({"part": part.name, "line": part.line, "outcome": outcome})
    return outcomes


def every_part_first_time(outcomes: Sequence[dict[str, object]]) -> CheckResult:
    """The figure is the number of parts that did not pass the first time."""
    name = "parts not passed the first time"
    if not outcomes:
        return not_measured(name, "parts", 0, "the scenario declares no part")
    others = [o for o in outcomes if o["outcome"] != PASSED]
    listed = ", ".join(f"{o['part']} {o['outcome']}" for o in outcomes)
    explanation = (
        f"{len(outcomes) - len(others)} of {len(outcomes)} parts passed the first time: {listed}"
    )
    details = {"parts": list(outcomes)}
    return CheckResult(name, len(others), "parts", 0, not others, explanation, details)
