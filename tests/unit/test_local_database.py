"""The local database capability refuses a kill of the primary aimed at a node that is not
the primary, before anything is killed."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from drillbook.environments.local.database import LocalDatabase


class Node:
    def __init__(self, name: str) -> None:
        self.name = name
        self.killed = False

    def pid(self) -> int:
        return 4242

    def kill9(self) -> None:
        self.killed = True


def local_database() -> tuple[LocalDatabase, dict[str, Node]]:
    nodes = {"az-a": Node("az-a"), "az-b": Node("az-b")}
    pg = SimpleNamespace(nodes=nodes, node=nodes.__getitem__, primary=nodes["az-a"])
    return LocalDatabase(SimpleNamespace(pg=pg)), nodes


def test_killing_the_standby_as_the_primary_is_refused():
    database, nodes = local_database()
    with pytest.raises(RuntimeError, match=r"postgres az-b is not the primary \(az-a is\)"):
        database.kill_primary("az-b")
    assert not nodes["az-b"].killed


def test_killing_the_primary_is_a_fault_on_its_zone():
    database, nodes = local_database()
    operation = database.kill_primary("az-a")
    assert operation.role == "fault" and operation.target == "postgres az-a"
    assert operation.revert is not None and not nodes["az-a"].killed
    assert operation.run() == 4242 and nodes["az-a"].killed
