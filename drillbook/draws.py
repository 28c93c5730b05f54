"""Seeded random draws: the plan's spot checks pick at random (seed 4.3, "随机恢复"), and an
auditor must be able to see the same pick again.

One seed per pytest session (`--dr-seed`, else a fresh one, printed). Each draw is derived from
the seed and the draw's name only, so a draw does not depend on which other draws ran before it
and giving the printed seed again draws the same: the same share of a window (a time drawn
from a scenario's own window differs with the window), the same items of the same population.
"""

from __future__ import annotations

import random
import secrets
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

# How to draw again, as the progress line and the ledger say it.
OPTION = "--dr-seed"


@dataclass(frozen=True)
class Draw:
    """One draw as the ledger records it: what was drawn, from what, with which seed."""

    what: str
    seed: int
    drawn: str
    among: str

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "again": f"{OPTION}={self.seed}"}

    def __str__(self) -> str:
        again = f"{OPTION}={self.seed} draws it again"
        return f"{self.what}: {self.drawn} (of {self.among}; {again})"


def new_seed() -> int:
    return secrets.randbits(32)


def parse_seed(text: str | None) -> int:
    """The seed an option gave (a non-negative integer), or a fresh one when none was given."""
    if text is None:
        return new_seed()
    try:
        seed = int(text)
    except ValueError:
        raise ValueError(f"{OPTION} must be a non-negative integer, got {text!r}") from None
    if seed < 0:
        raise ValueError(f"{OPTION} must be a non-negative integer, got {seed}")
    return seed


def fraction(seed: int, what: str) -> float:
    """A number in [0, 1), the same for the same seed and name."""
    return random.Random(f"{seed}:{what}").random()


def sample(seed: int, what: str, population: Sequence[str], n: int) -> list[str]:
    """`n` distinct items of `population` (all of them when it has fewer), in draw order; the
    same for the same seed, name and population, whatever order the population came in."""
    items = sorted(population)
    return random.Random(f"{seed}:{what}").sample(items, min(n, len(items)))
