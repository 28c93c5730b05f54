"""A bad DELETE names the table of the rows it removes; a row it may not remove is no step, so
the drill is refused, naming it, before anything is deleted."""

from __future__ import annotations

import pytest
from pytest_bdd.steps import step_function_context_registry

from drillbook.capabilities.operation import Operation, fault
from drillbook.faults.journal import FaultJournal
from drillbook.workload import History
from steps import database as database_steps
from tests.drills import make_drill


class Tables:
    def __init__(self) -> None:
        self.deleted: list[str] = []

    def delete(self, table: str) -> int:
        self.deleted.append(table)
        return 3

    def delete_rows(self, table: str) -> Operation[int]:
        return fault("bad DELETE", f"table {table}", lambda: self.delete(table), lambda: None)


@pytest.mark.parametrize(("row", "table"), [("lookup", "lookups"), ("entitlement", "entitlements")])
def test_a_bad_delete_removes_the_rows_of_its_table(tmp_path, row, table):
    tables = Tables()
    drill = make_drill(History(), tmp_path)
    drill.journal = FaultJournal(tmp_path / "journal.jsonl", progress=lambda _line: None)
    database_steps.bad_delete(drill, tables, row)
    assert tables.deleted == [table]
    assert drill.require_t0() > 0  # the DELETE is the drill's fault


def test_a_bad_delete_of_another_row_is_no_step():
    [step] = [
        ctx.parser
        for ctx in step_function_context_registry.values()
        if ctx.step_func is database_steps.bad_delete
    ]
    assert step.parse_arguments("a bad DELETE removes every entitlement") == {"row": "entitlement"}
    assert not step.is_matching("a bad DELETE removes every order")
    assert not step.is_matching("a bad DELETE removes every lookups")
