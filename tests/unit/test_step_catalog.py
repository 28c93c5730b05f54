"""The README's step vocabulary names every step the harness defines."""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path

from drillbook.bdd import known_steps

ROOT = Path(__file__).resolve().parents[2]


def test_every_step_is_in_the_readme():
    for module in pkgutil.iter_modules([str(ROOT / "steps")]):
        importlib.import_module(f"steps.{module.name}")
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    missing = [pattern for _kind, pattern in known_steps() if pattern not in readme]
    assert not missing, f"steps missing from the README's step vocabulary: {missing}"
