"""The relational database: nodes by availability zone, failover, PITR, replication lag."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from drillbook.capabilities.operation import Operation


class DatabaseInstance(Protocol):
    """One PostgreSQL instance of the drill: a zone's node or a restored copy."""

    name: str

    @property
    def app_dsn(self) -> str:
        """The service's DSN for it, through the network path clients use."""
        ...

    def query(self, statement: str, params: tuple | list | None = None) -> list[tuple]:
        """One statement in the service's database as its administrator, autocommit, bounded
        by a connect timeout and a statement timeout."""
        ...

    def lookups(self) -> list[tuple]:
        """Every row of the service's `lookups` table, by id: (id, user, word, looked up at)."""
        ...

    def reset_writes(self) -> None:
        """The drill writer's table emptied, so that a new writer numbers its rows from 1."""
        ...


class Database(Protocol):
    """PostgreSQL as plan section 3.1 runs it: a primary, a streaming standby, WAL archive."""

    @property
    def primary_zone(self) -> str:
        """The zone whose node the service writes to when nothing is broken."""
        ...

    def instance(self, name: str) -> DatabaseInstance:
        """A zone's node or a restored instance by name; an unknown name lists the known."""
        ...

    def admin_dsn(self, zone: str) -> str:
        """A superuser DSN straight to the zone's node (lag sampling, not the service's path)."""
        ...

    def kill_primary(self, zone: str) -> Operation[int]:
        """kill -9 of the zone's postmaster and workers (its result: the pid killed);
        reverted by restoring the topology without losing what the promoted standby took."""
        ...

    def promote(self, zone: str) -> Operation[dict]:
        """pg_promote() of the zone's standby, waiting until it is writable."""
        ...

    def delete_rows(self, table: str) -> Operation[int]:
        """A bad DELETE of every row of `table` on the primary; reverted by putting them back."""
        ...

    def restore_to(self, target: datetime, name: str) -> Operation[DatabaseInstance]:
        """Base backup plus archived WAL restored to `target` into a new instance `name`;
        reverted by removing that instance."""
        ...

    def lookups_committed_by(self, target: datetime) -> list[tuple]:
        """The rows of `lookups` on the primary zone's node committed at or before `target`
        (the database's commit timestamps), as `DatabaseInstance.lookups` gives them."""
        ...

    def clock(self) -> datetime:
        """The primary's clock_timestamp(): restore targets are its times."""
        ...

    def details(self, zone: str) -> dict[str, Any]:
        """What an operator would look at after a promotion (in recovery, timeline)."""
        ...
