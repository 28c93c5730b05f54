"""A bad DELETE names the table of the rows it removes, and refuses any other row by name
before anything is deleted."""

from __future__ import annotations

import pytest

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


def test_a_bad_delete_of_another_row_is_refused_naming_those_it_may_remove(tmp_path):
    tables = Tables()
    with pytest.raises(ValueError, match="every lookup or entitlement, not 'order'"):
        database_steps.bad_delete(make_drill(History(), tmp_path), tables, "order")
    assert tables.deleted == []
