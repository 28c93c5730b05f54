"""A scenario in parts (drillbook.parts), as November's rehearsal runs: a marker step begins
each part; whether each passed the first time is the ledger entry's, whatever happens, and the
time from the first part to the Then lines is a check."""

from __future__ import annotations

import time
from dataclasses import replace

from pytest_bdd import given, parsers, then, when

from drillbook.checks.duration import duration_check
from drillbook.drill import Drill, MissingStep
from drillbook.parts import PART_STEP


@given(parsers.parse(PART_STEP))
@when(parsers.parse(PART_STEP))
def part_begins(drill: Drill, name: str) -> None:
    """The part was declared when the scenario began (fixtures/drill.py); it begins now."""
    drill.parts = [
        replace(part, begun_at=time.time()) if part.name == name else part for part in drill.parts
    ]


@then(parsers.parse("the rehearsal took at most {limit:g} {unit}"))
def rehearsal_took(drill: Drill, limit: float, unit: str) -> None:
    """From the first part's beginning to the end of the last (the first Then)."""
    begun = drill.parts[0].begun_at if drill.parts else None
    if begun is None or drill.frozen_at is None:
        raise MissingStep(f'no part was begun: add "When {PART_STEP}" before the Then steps')
    drill.verdict(duration_check("rehearsal", drill.frozen_at - begun, limit, unit))
