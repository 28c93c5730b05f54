"""The README's step vocabulary names every step the harness defines."""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path

import pytest

from drillbook.bdd import known_steps

ROOT = Path(__file__).resolve().parents[2]


def test_every_step_is_in_the_readme():
    for module in pkgutil.iter_modules([str(ROOT / "steps")]):
        importlib.import_module(f"steps.{module.name}")
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    missing = [pattern for _kind, pattern in known_steps() if pattern not in readme]
    assert not missing, f"steps missing from the README's step vocabulary: {missing}"


# Checks of the live system that make requests of their own: a Then must not change what the
# other Thens observe, so these are Given or When steps only.
CHECKPOINTS = (
    "every user's quota matches their usage records in PostgreSQL",
    'lookups carry the header "{header}: {value}"',
    'regenerating an example is refused with "{error}"',
    'the contract corpus "{name}" passes 100%',
    'the contract corpus "{name}" fails',
)


@pytest.mark.parametrize("pattern", CHECKPOINTS)
def test_a_checkpoint_is_a_given_or_a_when_never_a_then(pattern):
    for module in pkgutil.iter_modules([str(ROOT / "steps")]):
        importlib.import_module(f"steps.{module.name}")
    assert {kind for kind, known in known_steps() if known == pattern} == {"given", "when"}
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert f"`When {pattern}` (also `Given`)" in readme
