"""December's re-drills (seed 4.1, 演练补测: 抽查 2 次随机演练闭环 ≤120 min): drills of the
calendar drawn at random with the session's seed and run again in the same session, just
before December's review reads the ledger.

A drill is a month's feature: every scenario of a drawn feature runs again, as a test of its
own (`test_<scenario>__re_drill`), so its first run and its re-run are two entries of the ledger and
two results of the report. Running December alone still re-runs the drawn drills: their
features are collected for it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from drillbook.draws import Draw, sample

SUFFIX = "__re_drill"
DRAWN = 2
WHAT = "December re-drills (seed 4.1)"
REVIEW_MONTH = 12
_MONTH = re.compile(r"(\d+)_")


@dataclass
class Redrills:
    """What the session drew and, once each re-run wrote its ledger entry, where it is."""

    draw: Draw
    features: list[str]
    nodeids: list[str] = field(default_factory=list)
    entries: dict[str, Path] = field(default_factory=dict)


def month_of(path: Path) -> int | None:
    """The calendar month a feature is named for (`2_pitr.feature` is 2), None for another."""
    match = _MONTH.match(path.name)
    return int(match.group(1)) if match and path.suffix == ".feature" else None


def drawable(features_dir: Path) -> list[Path]:
    """The drills December may draw: the calendar's features before its own month."""
    return sorted(
        path
        for path in features_dir.glob("*.feature")
        if (month := month_of(path)) is not None and month < REVIEW_MONTH
    )


def draw_redrills(seed: int, features: Sequence[Path], n: int = DRAWN) -> Redrills:
    """`n` of `features` drawn with `seed`, by name: the same seed draws the same drills."""
    names = [path.stem for path in features]
    drawn = sample(seed, WHAT, names, n)
    draw = Draw(WHAT, seed, ", ".join(drawn) or "none", f"{len(names)} drills of the calendar")
    by_name = {path.stem: path for path in features}
    return Redrills(draw, [str(by_name[name]) for name in drawn])


# Where the session keeps its Redrills (pytest.Config.stash), once December is collected.
REDRILLS = pytest.StashKey[Redrills]()
