"""Running `.feature` files directly with pytest, and clear errors when they are wrong.

`pytest features/2_pitr.feature` collects the feature's scenarios without a test module per
feature: a `FeatureModule` builds a module object on the fly and binds the scenarios into it
with `pytest_bdd.scenarios`. Before a scenario runs, every one of its steps is resolved, so a
typo in step 7 fails before step 1 has injected a fault.
"""

from __future__ import annotations

import difflib
import types
from pathlib import Path

import pytest
from pytest_bdd import scenarios
from pytest_bdd.exceptions import GherkinParseError
from pytest_bdd.parser import Scenario, Step
from pytest_bdd.scenario import get_step_function
from pytest_bdd.steps import step_function_context_registry


class FeatureError(Exception):
    """A feature file that cannot be parsed, located by file and line."""


class UnknownStepError(Exception):
    """A step that no step definition matches."""


class FeatureModule(pytest.Module):
    """A pytest module whose tests are the scenarios of one `.feature` file."""

    def _getobj(self) -> types.ModuleType:
        module = types.ModuleType(self.path.stem.replace("-", "_"))
        module.__file__ = str(self.path)
        try:
            exec(  # noqa: S102 - pytest-bdd binds scenarios into its caller's module namespace
                compile("scenarios(path)", str(self.path), "exec"),
                module.__dict__ | {"scenarios": scenarios, "path": str(self.path)},
                module.__dict__,
            )
        except GherkinParseError as exc:
            where = f"{exc.filename}:{exc.line}"
            raise FeatureError(f"{where}: {exc.message}\n  {exc.line_content}") from None
        return module

    def _register_setup_module_fixture(self) -> None:
        """Feature modules have no setup_module/teardown_module functions."""

    def _register_setup_function_fixture(self) -> None:
        """Nor setup_function/teardown_function."""

    def repr_failure(self, excinfo):  # type: ignore[no-untyped-def]
        if excinfo.errisinstance(FeatureError):
            return f"malformed feature file {excinfo.value}"
        return super().repr_failure(excinfo)


def check_steps_resolve(request: pytest.FixtureRequest, scenario: Scenario) -> None:
    """Fail before the first step runs if any step of the scenario has no definition."""
    for step in scenario.steps:
        if get_step_function(request=request, step=step) is None:
            raise UnknownStepError(unknown_step_message(scenario, step))


def unknown_step_message(scenario: Scenario, step: Step) -> str:
    where = f"{scenario.feature.filename}:{step.line_number}"
    text = f"{step.keyword.strip()} {step.name}"
    lines = [f"unknown step at {where}: {text!r} (scenario {scenario.name!r})"]
    close = closest_steps(step.type, step.name)
    if close:
        lines.append("closest known steps:")
        lines += [f"  {kind.capitalize()} {pattern}" for kind, pattern in close]
    else:
        lines.append(f"no known {step.type} step is close; see the step modules in steps/")
    return "\n".join(lines)


def known_steps() -> list[tuple[str, str]]:
    """(type, pattern) of every step definition registered in this process, but pytest-bdd's
    own debugging step."""
    found = {
        (ctx.type or "step", ctx.parser.name)
        for ctx in step_function_context_registry.values()
        if not ctx.step_func.__module__.startswith("pytest_bdd.")
    }
    return sorted(found)


def closest_steps(step_type: str, text: str, limit: int = 3) -> list[tuple[str, str]]:
    candidates = [(kind, p) for kind, p in known_steps() if kind in (step_type, "step")]
    by_pattern = {pattern: kind for kind, pattern in candidates}
    matches = difflib.get_close_matches(text, list(by_pattern), n=limit, cutoff=0.4)
    return [(by_pattern[m], m) for m in matches]


def feature_tags(path: Path) -> set[str]:
    """The tags used anywhere in a feature file (for marker registration checks)."""
    tags = set()
    for line in path.read_text(encoding="utf-8").splitlines():
        stripped = line.strip()
        if stripped.startswith("@"):
            tags.update(word.lstrip("@") for word in stripped.split() if word.startswith("@"))
    return tags
