"""Wiring: `.feature` files are collected as tests, steps and fixtures are loaded as plugins,
the environment profile is validated before anything starts, and SIGTERM unwinds like Ctrl-C
so every injected fault is reverted."""

from __future__ import annotations

import pkgutil
import signal
from pathlib import Path

import pytest

import fixtures
import steps
from drillbook.bdd import FeatureModule
from drillbook.profile import ProfileError, load_profile, profile_path

# Every module of fixtures/ and steps/ is a plugin: a new steps module needs no registration.
pytest_plugins = [
    f"{package.__name__}.{module.name}"
    for package in (fixtures, steps)
    for module in pkgutil.iter_modules(package.__path__)
]

ROOT = Path(__file__).resolve().parent


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    if file_path.suffix == ".feature":
        return FeatureModule.from_parent(parent, path=file_path)
    return None


def pytest_configure(config: pytest.Config) -> None:
    try:
        load_profile(profile_path(config.getoption("--dr-env"), ROOT / "environments"))
    except ProfileError as exc:
        raise pytest.UsageError(f"bad environment profile: {exc}") from None
    signal.signal(signal.SIGTERM, _interrupt)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")
