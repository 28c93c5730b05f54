"""Wiring: `.feature` files are collected as tests, steps and fixtures are loaded as plugins,
and SIGTERM unwinds like Ctrl-C so every injected fault is reverted."""

from __future__ import annotations

import pkgutil
import signal
from pathlib import Path

import pytest

from drillbook.bdd import FeatureModule

ROOT = Path(__file__).resolve().parent
PLUGIN_PACKAGES = ("fixtures", "steps")
# Step modules import each other's helpers: asserts are rewritten whichever imports them first.
pytest.register_assert_rewrite(*PLUGIN_PACKAGES)

# Every module of fixtures/ and steps/ is a plugin: a new steps module needs no registration.
pytest_plugins = [
    f"{package}.{module.name}"
    for package in PLUGIN_PACKAGES
    for module in pkgutil.iter_modules([str(ROOT / package)])
]


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    if file_path.suffix == ".feature":
        return FeatureModule.from_parent(parent, path=file_path)
    return None


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Drills run in calendar order (features are named by month: 2_pitr before 10_...), after
    any other test, and the other features (the runbooks) after the calendar: a failback
    leaves the WAL archive without what the other region wrote, so a PITR drill must come
    before it. Otherwise the order is pytest's."""
    items.sort(key=_calendar_order)


def _calendar_order(item: pytest.Item) -> tuple[int, int]:
    path = Path(str(item.path))
    month = path.name.partition("_")[0]
    if path.suffix != ".feature":
        return (0, 0)
    return (1, int(month)) if month.isdigit() else (2, 0)


def pytest_configure(config: pytest.Config) -> None:
    signal.signal(signal.SIGTERM, _interrupt)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")
