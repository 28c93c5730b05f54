"""Steps declare the operations they carry out, so a scenario is checked against a profile's
bindings and allow-list before it runs, and a dry run can list what it would inject."""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
from pathlib import Path

from drillbook.bdd import PERFORMS
from drillbook.environments.live.operations import BUILT_IN, OPERATIONS

ROOT = Path(__file__).resolve().parents[2]
# Calls through which a step changes the environment.
ACTING_CALLS = {"apply", "restore", "inject"}


def step_functions() -> list:
    found = []
    for module in pkgutil.iter_modules([str(ROOT / "steps")]):
        loaded = importlib.import_module(f"steps.{module.name}")
        found += [
            func
            for _, func in inspect.getmembers(loaded, inspect.isfunction)
            if func.__module__ == loaded.__name__
        ]
    return found


def acts(func) -> bool:
    tree = ast.parse(inspect.getsource(func).lstrip())
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            callee = node.func
            name = callee.attr if isinstance(callee, ast.Attribute) else getattr(callee, "id", "")
            if name in ACTING_CALLS and (isinstance(callee, ast.Name) or _on_drill(callee)):
                return True
    return False


def _on_drill(callee: ast.Attribute) -> bool:
    return isinstance(callee.value, ast.Name) and callee.value.id == "drill"


def test_every_step_that_acts_declares_its_operations():
    helpers = {"inject"}  # the network steps' shared helper, not a step
    undeclared = [
        f"{func.__module__}.{func.__name__}"
        for func in step_functions()
        if func.__name__ not in helpers and acts(func) and func not in PERFORMS
    ]
    assert undeclared == []


def test_declared_operations_are_known_and_take_the_declared_params():
    for func, declared in PERFORMS.items():
        for performed in declared:
            name = performed.operation
            assert name in OPERATIONS or name in BUILT_IN, f"{func.__name__}: {name}"
            if name in OPERATIONS:
                unknown = set(performed.params) - set(OPERATIONS[name].params)
                assert not unknown, f"{func.__name__}: {name} takes no {unknown}"


def test_a_declaration_fills_its_params_from_the_step_arguments():
    from steps.failover import kill_primary

    [performed] = PERFORMS[kill_primary]
    assert performed.arguments({"az": "az-a"}) == {"zone": "az-a"}


def test_a_step_asks_for_the_capability_of_each_operation_it_declares():
    """The preflight checks an operation under its capability (the name's first part); a
    revert is checked with the fault it ends."""
    for func, declared in PERFORMS.items():
        params = set(inspect.signature(func).parameters)
        for performed in (p for p in declared if not p.revert):
            capability = performed.operation.split(".")[0]
            assert capability in params, f"{func.__name__} declares {performed.operation}"
