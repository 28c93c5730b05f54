"""Wiring: `.feature` files are collected as tests, steps and fixtures are loaded as plugins,
and SIGTERM unwinds like Ctrl-C so every injected fault is reverted."""

from __future__ import annotations

import pkgutil
import signal
from pathlib import Path

import pytest

from drillbook.bdd import FeatureModule
from drillbook.redrills import REDRILLS, REVIEW_MONTH, SUFFIX, draw_redrills, drawable, month_of

ROOT = Path(__file__).resolve().parent
# Features that change nothing and read the environment before any drill breaks it.
FIRST = ("backup_matrix.feature",)
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


def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
) -> None:
    """Drills run in calendar order (features are named by month: 2_pitr before 10_...), after
    any other test, and the other features (the runbooks) after the calendar: a failback
    leaves the WAL archive without what the other region wrote, so a PITR drill must come
    before it. Otherwise the order is pytest's. December's re-drills run just before it. The
    backup matrix runs first, on the environment as it stands."""
    items.sort(key=_calendar_order)
    december = [i for i, item in enumerate(items) if month_of(Path(str(item.path))) == REVIEW_MONTH]
    if december:
        from fixtures.environment import SEED  # a plugin: imported once its asserts are rewritten

        redrills = draw_redrills(config.stash[SEED], drawable(ROOT / "features"))
        again = [
            _again(item) for path in redrills.features for item in _scenarios(session, items, path)
        ]
        redrills.nodeids = [item.nodeid for item in again]
        config.stash[REDRILLS] = redrills
        items[december[0] : december[0]] = again


def _scenarios(session: pytest.Session, items: list[pytest.Item], path: str) -> list[pytest.Item]:
    """The scenarios of the feature at `path`: as collected, or collected now."""
    collected = [item for item in items if str(item.path) == path]
    if collected:
        return collected
    try:
        module = FeatureModule.from_parent(session, path=Path(path))
        return [item for item in module.collect() if isinstance(item, pytest.Item)]
    except Exception as exc:  # noqa: BLE001 - whatever it is, it is this feature's, named
        raise pytest.UsageError(f"December's re-drill {path} cannot be collected: {exc}") from None


def _again(item: pytest.Item) -> pytest.Item:
    """A second test of the same scenario, named as a re-drill."""
    if not isinstance(item, pytest.Function) or hasattr(item, "callspec"):
        raise pytest.UsageError(f"{item.nodeid}: only plain scenarios can be re-drilled")
    name = f"{item.name}{SUFFIX}"  # pytest makes a function's id of its original name
    return pytest.Function.from_parent(item.parent, name=name, callobj=item.obj, originalname=name)


@pytest.hookimpl(trylast=True)
def pytest_collection_finish(session: pytest.Session) -> None:
    """Re-drills that -k, -m or --deselect left out are not expected to write an entry."""
    redrills = session.config.stash.get(REDRILLS, None)
    if redrills is not None:
        kept = {item.nodeid for item in session.items}
        redrills.nodeids = [nodeid for nodeid in redrills.nodeids if nodeid in kept]


def _calendar_order(item: pytest.Item) -> tuple[int, int]:
    path = Path(str(item.path))
    if path.suffix != ".feature":
        return (0, 0)
    month = month_of(path)
    if month is not None:
        return (1, month)
    return (1, 0) if path.name in FIRST else (2, 0)


def pytest_configure(config: pytest.Config) -> None:
    signal.signal(signal.SIGTERM, _interrupt)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")
