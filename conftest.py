"""Wiring: `.feature` files are collected as tests, steps and fixtures are loaded as plugins,
and SIGTERM unwinds like Ctrl-C so every injected fault is reverted."""

from __future__ import annotations

import pkgutil
import signal
from pathlib import Path

import pytest

import fixtures
import steps
from drillbook.bdd import FeatureModule

# Every module of fixtures/ and steps/ is a plugin: a new steps module needs no registration.
pytest_plugins = [
    f"{package.__name__}.{module.name}"
    for package in (fixtures, steps)
    for module in pkgutil.iter_modules(package.__path__)
]


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    if file_path.suffix == ".feature":
        return FeatureModule.from_parent(parent, path=file_path)
    return None


def pytest_configure(config: pytest.Config) -> None:
    signal.signal(signal.SIGTERM, _interrupt)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")
