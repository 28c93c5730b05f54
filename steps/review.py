"""December's review (seed 4.1, 年度回顾 + 演练补测): the year's ledger read as the review
meeting reads it, and the drills drawn at random for re-running, run again just before.

The ledger is the reports folder's (`--dr-reports`, `reports/ledger` by default), read once per
scenario; the year is the current one in UTC+8, as the ledger writes T0. Each Then is one check
of drillbook.checks.annual_review.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from pytest_bdd import parsers, then

from drillbook.checks.annual_review import (
    action_items_closed,
    closed_in_time,
    every_type_ran,
    of_year,
    redrills_closed,
    spot_checks_cover,
)
from drillbook.checks.duration import to_seconds
from drillbook.drill import Drill, DrillError
from drillbook.evidence.actions import UTC8, t0_of
from drillbook.evidence.ledger import load_entries
from drillbook.redrills import REDRILLS

Entries = Sequence[dict[str, Any]]


def this_year() -> int:
    return datetime.now(UTC8).year


def ledger(drill: Drill, pytestconfig: pytest.Config) -> Entries:
    """Every entry of the reports folder's ledger, read once, its count attached."""
    folder = Path(pytestconfig.getoption("--dr-reports")) / "ledger"

    def read() -> Entries:
        entries = load_entries(folder) if folder.is_dir() else []
        drill.evidence.attach_json(
            f"ledger read: {folder}", {"entries": len(entries), "year": this_year()}
        )
        return entries

    return drill.observed(f"the ledger in {folder}", read)


def of_this_year(drill: Drill, pytestconfig: pytest.Config) -> Entries:
    return of_year(ledger(drill, pytestconfig), this_year())


@then("every drill type of the calendar ran this year")
def every_type(drill: Drill, pytestconfig: pytest.Config) -> None:
    drill.verdict(every_type_ran(of_this_year(drill, pytestconfig)))


@then("every action item of the ledger up to this year is closed")
def items_closed(drill: Drill, pytestconfig: pytest.Config) -> None:
    """Items opened in an earlier year and never closed count too."""
    entries = [e for e in ledger(drill, pytestconfig) if t0_of(e).year <= this_year()]
    drill.verdict(action_items_closed(entries))


@then("the spot checks of this year cover every drill type")
def spot_checks(drill: Drill, pytestconfig: pytest.Config) -> None:
    drill.verdict(spot_checks_cover(of_this_year(drill, pytestconfig)))


@then(parsers.parse("every drill of this year closed within {limit:g} {unit}"))
def all_closed(drill: Drill, pytestconfig: pytest.Config, limit: float, unit: str) -> None:
    drill.verdict(closed_in_time(of_this_year(drill, pytestconfig), to_seconds(limit, unit)))


@then(
    parsers.parse(
        "the {n:d} drills drawn at random ran again in this session, each closed within "
        "{limit:g} {unit}"
    )
)
def redrilled(
    drill: Drill,
    pytestconfig: pytest.Config,
    progress: Callable[[str], None],
    n: int,
    limit: float,
    unit: str,
) -> None:
    """The session drew its re-drills when it collected December (drillbook.redrills); the
    draw is this drill's record, whatever the verdict."""
    redrills = pytestconfig.stash[REDRILLS]
    drill.drew(redrills.draw)
    progress(f"drew {redrills.draw}")
    if len(redrills.features) != n:
        raise DrillError(
            f"the session drew {len(redrills.features)} drills ({redrills.draw.drawn}), "
            f"the step expects {n}"
        )
    entries = {
        test: load_entries(path.parent, [path.stem])[0] for test, path in redrills.entries.items()
    }
    drill.verdict(redrills_closed(redrills.nodeids, entries, to_seconds(limit, unit)))
