"""December's re-drills: drawn from the calendar before December, the same with the same seed."""

from __future__ import annotations

from pathlib import Path

from drillbook.redrills import DRAWN, draw_redrills, drawable, month_of

FEATURES = Path(__file__).resolve().parents[2] / "features"


def test_only_the_calendar_before_december_can_be_drawn():
    months = sorted(month_of(path) for path in drawable(FEATURES))
    assert months == list(range(1, 12))
    assert month_of(Path("runbook_5_1_cross_az.feature")) is None
    assert month_of(Path("12_annual_review.feature")) == 12


def test_the_same_seed_draws_the_same_two_drills_and_records_how():
    features = drawable(FEATURES)
    first, again = draw_redrills(7, features), draw_redrills(7, list(reversed(features)))
    assert first.features == again.features and len(first.features) == DRAWN
    assert first.draw.as_dict()["again"] == "--dr-seed=7"
    assert first.draw.drawn == ", ".join(Path(f).stem for f in first.features)


def test_other_seeds_draw_other_drills():
    features = drawable(FEATURES)
    assert len({tuple(draw_redrills(seed, features).features) for seed in range(20)}) > 5
