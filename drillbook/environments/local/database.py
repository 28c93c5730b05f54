"""The local database: the PostgreSQL pair of the stack (az-a, az-b) and its PITR copies."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from drillbook.capabilities.operation import Operation, fault, remediation
from drillbook.environments.common import delete_rows
from drillbook.environments.local.heal import heal_database
from drillbook.glancy_sql import ALL_LOOKUPS, LOOKUPS_COMMITTED_BY, WRITES
from drillbook.stack import LocalStack
from drillbook.stack.postgres import APP_DB, PgNode


class LocalInstance:
    """A node of the stack as the service's database."""

    def __init__(self, node: PgNode) -> None:
        self.node = node
        self.name = node.name

    @property
    def app_dsn(self) -> str:
        return self.node.app_dsn

    def query(self, statement: str, params: tuple | list | None = None) -> list[tuple]:
        """As superuser, straight to the node: the admin DSN's connect_timeout and the
        statement_timeout PgNode.query sets bound it."""
        return self.node.query(statement, params, dbname=APP_DB)

    def lookups(self) -> list[tuple]:
        return self.query(ALL_LOOKUPS)

    def reset_writes(self) -> None:
        self.query(f"TRUNCATE {WRITES}")


class LocalDatabase:
    def __init__(self, stack: LocalStack) -> None:
        self.stack = stack
        self.pg = stack.pg

    @property
    def primary_zone(self) -> str:
        return "az-a"

    def instance(self, name: str) -> LocalInstance:
        if name in self.pg.nodes:
            return LocalInstance(self.pg.nodes[name])
        for node in self.pg.restored:
            if node.name == name:
                return LocalInstance(node)
        known = [*self.pg.nodes, *(node.name for node in self.pg.restored)]
        raise LookupError(f"no PostgreSQL instance {name!r}; the instances are {known}")

    def primary(self) -> LocalInstance:
        """The node that accepts writes now."""
        return LocalInstance(self.pg.primary)

    def admin_dsn(self, zone: str) -> str:
        return self.pg.node(zone).admin_dsn

    def kill_primary(self, zone: str) -> Operation[int]:
        node = self.pg.node(zone)
        if node is not self.pg.primary:
            raise RuntimeError(
                f"postgres {zone} is not the primary ({self.pg.primary.name} is): killing it "
                "would not be a failure of the primary"
            )
        pid = node.pid()
        if pid is None:
            raise RuntimeError(f"postgres {zone} is not running, so it cannot be killed")

        def kill() -> int:
            node.kill9()
            return pid

        return fault("kill -9", f"postgres {zone}", kill, self._heal, pid=pid)

    def promote(self, zone: str) -> Operation[dict]:
        node = self.pg.node(zone)

        def promote() -> dict:
            node.promote()
            return self.details(zone)

        return remediation("promote", f"postgres {zone}", promote, self._heal)

    def delete_rows(self, table: str) -> Operation[int]:
        return delete_rows(table, self.primary)

    def restore_to(self, target: datetime, name: str) -> Operation[LocalInstance]:
        made: list[PgNode] = []

        def restore() -> LocalInstance:
            made.append(self.pg.restore_pitr(target, name))
            return LocalInstance(made[0])

        def destroy() -> None:
            for node in made:
                node.destroy()

        return remediation(
            "PITR", f"restored copy {name} at {target.isoformat()}", restore, destroy
        )

    def lookups_committed_by(self, target: datetime) -> list[tuple]:
        return self.instance(self.primary_zone).query(LOOKUPS_COMMITTED_BY, (target,))

    def clock(self) -> datetime:
        [(now,)] = self.pg.primary.query("SELECT clock_timestamp()", dbname=APP_DB)
        return now

    def details(self, zone: str) -> dict[str, Any]:
        [(in_recovery, timeline)] = self.pg.node(zone).query(
            "SELECT pg_is_in_recovery(), timeline_id FROM pg_control_checkpoint()"
        )
        return {"zone": zone, "in_recovery": in_recovery, "timeline": timeline}

    def _heal(self) -> None:
        heal_database(self.stack)
