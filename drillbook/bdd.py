"""Running `.feature` files directly with pytest, and clear errors when they are wrong.

`pytest features/2_pitr.feature` collects the feature's scenarios without a test module per
feature: a `FeatureModule` builds a module object on the fly and binds the scenarios into it
with `pytest_bdd.scenarios`. Before a scenario runs, every one of its steps is resolved and
checked against the environment and the scenario's phases, so a typo or an impossible step 7
fails before step 1 has injected a fault.
"""

from __future__ import annotations

import difflib
import types
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

import parse
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


# The wait step's grammar: its condition is looked up before the scenario runs.
WITHIN_STEP = "within {seconds:g} seconds {condition}"
WITHIN = parse.compile(WITHIN_STEP)


class StepRefused(Exception):
    """A step the selected environment cannot run, or one out of its phase."""


# Step functions that act on the drill even when written as Then (the `within` waits): the
# observation has begun by then, so they are refused there.
ACTING: set[Callable[..., object]] = set()


def acting(func: Callable[..., object]) -> Callable[..., object]:
    """Mark a step function that changes or waits on the drill: it belongs before the first
    Then, which freezes the workload."""
    ACTING.add(func)
    return func


F = TypeVar("F", bound=Callable[..., object])


@dataclass(frozen=True)
class Performs:
    """An operation a step carries out (e.g. "database.kill_primary") or reverts, with its
    parameters as templates over the step's arguments ("{az}")."""

    operation: str
    params: dict[str, str] = field(default_factory=dict)
    revert: bool = False

    def arguments(self, step_args: dict[str, object]) -> dict[str, str]:
        return {param: template.format(**step_args) for param, template in self.params.items()}


# Step functions and the operations they carry out, in order: what a profile must bind or
# allow for the step to run, and what a dry run lists instead of running the step.
PERFORMS: dict[Callable[..., object], tuple[Performs, ...]] = {}


def performs(operation: str, **params: str) -> Callable[[F], F]:
    """Declare that a step function carries out `operation` (write it below the @when)."""
    return _declare(Performs(operation, params))


def reverts(operation: str, **params: str) -> Callable[[F], F]:
    """Declare that a step function ends the faults of `operation` (their reverts run)."""
    return _declare(Performs(operation, params, revert=True))


def _declare(performed: Performs) -> Callable[[F], F]:
    def mark(func: F) -> F:
        PERFORMS[func] = (*PERFORMS.get(func, ()), performed)
        return func

    return mark


@dataclass(frozen=True)
class ResolvedStep:
    """A step of a scenario with its definition, its arguments and its operations."""

    step: Step
    where: str
    func: Callable[..., object]
    args: dict[str, object]

    @property
    def text(self) -> str:
        return f"{self.step.keyword.strip()} {self.step.name}"

    @property
    def performs(self) -> tuple[Performs, ...]:
        return PERFORMS.get(self.func, ())


def resolve_steps(request: pytest.FixtureRequest, scenario: Scenario) -> list[ResolvedStep]:
    """Every step of the scenario with its definition; an unknown step fails, naming it and
    the closest known steps."""
    resolved = []
    for step in scenario.steps:
        context = get_step_function(request=request, step=step)
        if context is None:
            raise UnknownStepError(unknown_step_message(scenario, step))
        where = f"{scenario.feature.filename}:{step.line_number}"
        args = context.parser.parse_arguments(step.name) or {}
        resolved.append(ResolvedStep(step, where, context.step_func, args))
    return resolved


def check_scenario(
    request: pytest.FixtureRequest,
    scenario: Scenario,
    needs: Callable[[Step, Callable[..., object]], list[str]],
    refusal: Callable[[str], str | None],
    operation_refusal: Callable[[str], str | None],
) -> None:
    """Fail before the first step runs if any step of the scenario has no definition, needs a
    capability the environment lacks (`needs` lists a step's capabilities, `refusal` says why
    one is missing), carries out an operation the profile does not bind or allow, or changes
    the drill after its observation began."""
    observing: Step | None = None
    for resolved in resolve_steps(request, scenario):
        step, where, text = resolved.step, resolved.where, resolved.text
        try:
            capabilities = needs(step, resolved.func)
        except LookupError as exc:  # an unknown condition of a `within` step
            raise StepRefused(f"step at {where} {text!r}: {exc}") from None
        whys = [refusal(capability) for capability in capabilities]
        whys += [operation_refusal(p.operation) for p in resolved.performs if not p.revert]
        for why in whys:
            if why is not None:
                raise StepRefused(f"step at {where} {text!r} cannot run: {why}")
        if step.type == "then":
            if resolved.func in ACTING:
                raise StepRefused(
                    f"step at {where} {text!r} waits on the drill, but the first Then freezes "
                    "the workload to observe it: write the wait before the Then steps (as "
                    "'And ...' after a When)"
                )
            observing = observing or step
        elif observing is not None:
            raise StepRefused(
                f"step at {where} {text!r} acts on the drill after its observation began at "
                f"line {observing.line_number} ({observing.keyword.strip()} {observing.name!r}): "
                "every Given and When comes before the first Then, so the order of the Then "
                "lines cannot change a result"
            )


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
