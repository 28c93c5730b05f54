"""Seeded draws: the same seed draws the same again, whatever else was drawn before."""

from __future__ import annotations

import pytest

from drillbook.draws import Draw, fraction, parse_seed


def test_the_same_seed_and_name_draw_the_same():
    assert fraction(42, "restore target") == fraction(42, "restore target")


def test_a_draw_does_not_depend_on_the_draws_before_it():
    first = fraction(42, "restore target")
    fraction(42, "another draw")
    assert fraction(42, "restore target") == first


def test_another_seed_or_name_draws_otherwise_and_spreads_over_the_range():
    assert fraction(42, "restore target") != fraction(43, "restore target")
    assert fraction(42, "restore target") != fraction(42, "another draw")
    draws = [fraction(seed, "restore target") for seed in range(200)]
    assert all(0 <= d < 1 for d in draws)
    assert min(draws) < 0.1 and max(draws) > 0.9


def test_a_given_seed_is_kept_and_none_draws_a_fresh_one():
    assert parse_seed("123") == 123
    assert parse_seed(None) != parse_seed(None)


@pytest.mark.parametrize("text", ["abc", "-1", "1.5"])
def test_a_bad_seed_names_the_option(text):
    with pytest.raises(ValueError, match=r"--dr-seed must be a non-negative integer"):
        parse_seed(text)


def test_the_record_of_a_draw_says_how_to_draw_it_again():
    draw = Draw("restore target", 99, "2026-08-01T12:00:00.000+08:00", "the scenario so far")
    assert draw.as_dict()["again"] == "--dr-seed=99"
    assert "--dr-seed=99" in str(draw)
