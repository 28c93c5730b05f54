"""The live database: PostgreSQL reached through the profile's DSNs, one per zone.

Reads are SQL over those DSNs; what breaks or repairs the database (kill a primary, promote a
standby, restore to a point in time) is the profile's binding of that operation. The harness
cannot see the topology the way the local stack does, so it asks: the current primary is the
zone whose node says it is not in recovery.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from psycopg.conninfo import conninfo_to_dict, make_conninfo

from drillbook.capabilities.operation import Operation
from drillbook.environments.common import converted, delete_rows
from drillbook.glancy_sql import ALL_LOOKUPS, IN_RECOVERY, LOOKUPS_COMMITTED_BY, WRITES
from drillbook.pgconnect import connect
from drillbook.waits import wait_until

if TYPE_CHECKING:  # the capabilities only call what a Bindings offers
    from drillbook.environments.live.bindings import Bindings

# One statement of the harness: to connect, then to run (pgconnect bounds both).
QUERY_TIMEOUT_S = 5.0
# Asking a zone whether it is the primary: a dead node must not hold the question up for long.
ROLE_TIMEOUT_S = 2.0


def query(dsn: str, statement: str, params: Any = None, timeout_s: float = QUERY_TIMEOUT_S) -> list:
    """One statement on its own autocommit connection, bounded; its rows (none for a
    statement that returns none)."""
    with connect(dsn, timeout_s, autocommit=True) as conn:
        cursor = conn.execute(statement, params)
        return cursor.fetchall() if cursor.description else []


def restored_dsn(dsn: str, host: str, port: int) -> str:
    """`dsn` (a URL or key=value conninfo) pointed at another instance: same user, password,
    database and options, the new host and port. A `hostaddr` would override the host, so it
    goes."""
    params = conninfo_to_dict(dsn)
    params.pop("hostaddr", None)
    return make_conninfo("", **{**params, "host": host, "port": str(port)})


class LiveInstance:
    """A zone's node or a restored instance: a superuser DSN straight to it, and the DSN the
    service uses to reach it."""

    def __init__(self, name: str, dsn: str, app_dsn: str) -> None:
        self.name = name
        self.dsn = dsn
        self._app_dsn = app_dsn

    @property
    def app_dsn(self) -> str:
        return self._app_dsn

    def query(self, statement: str, params: tuple | list | None = None) -> list[tuple]:
        return query(self.dsn, statement, params)

    def lookups(self) -> list[tuple]:
        return self.query(ALL_LOOKUPS)

    def reset_writes(self) -> None:
        self.query(f"TRUNCATE {WRITES}")

    def in_recovery(self, timeout_s: float = QUERY_TIMEOUT_S) -> bool:
        [(answer,)] = query(self.dsn, IN_RECOVERY, timeout_s=timeout_s)
        return answer


class LiveDatabase:
    """`dsns`: zone -> superuser DSN straight to its node; `app_dsns`: zone -> the DSN clients
    use; `ready_timeout_s` bounds the waits after a promotion or a restore."""

    def __init__(
        self,
        dsns: dict[str, str],
        app_dsns: dict[str, str],
        primary_zone: str,
        bindings: Bindings,
        ready_timeout_s: float,
    ) -> None:
        self.zones = {
            zone: LiveInstance(zone, dsn, app_dsns.get(zone, dsn)) for zone, dsn in dsns.items()
        }
        self._primary_zone = primary_zone
        self.bindings = bindings
        self.ready_timeout_s = ready_timeout_s
        # Instances restore_to made, by name, until their revert removes them.
        self.restored: dict[str, LiveInstance] = {}

    @property
    def primary_zone(self) -> str:
        return self._primary_zone

    def instance(self, name: str) -> LiveInstance:
        found = self.zones.get(name) or self.restored.get(name)
        if found is None:
            known = [*self.zones, *self.restored]
            raise LookupError(f"no PostgreSQL instance {name!r}; the instances are {known}")
        return found

    def primary(self) -> LiveInstance:
        """The zone's node that accepts writes now: the first, in the profile's order, that
        says it is not in recovery; each is asked with a short timeout."""
        answers = []
        for zone, node in self.zones.items():
            try:
                if not node.in_recovery(ROLE_TIMEOUT_S):
                    return node
                answers.append(f"{zone}: in recovery")
            except Exception as exc:  # a dead node is an answer too
                answers.append(f"{zone}: {type(exc).__name__}: {exc}")
        raise RuntimeError(f"no PostgreSQL zone accepts writes ({'; '.join(answers)})")

    def admin_dsn(self, zone: str) -> str:
        return self._zone(zone).dsn

    def kill_primary(self, zone: str) -> Operation[int | None]:
        """Its result: the pid the binding reports killing, None when it reports none."""
        primary = self.primary()
        if primary.name != zone:
            raise RuntimeError(
                f"postgres {zone} is not the primary ({primary.name} is): killing it "
                "would not be a failure of the primary"
            )
        operation = self.bindings.operation(
            "database.kill_primary", "kill -9", f"postgres {zone}", {"zone": zone}
        )
        return converted(operation, pid_of)

    def promote(self, zone: str) -> Operation[dict]:
        """The binding, then a wait until the zone accepts writes; its result is read by SQL."""
        self._zone(zone)
        operation = self.bindings.operation(
            "database.promote", "promote", f"postgres {zone}", {"zone": zone}
        )
        return converted(operation, lambda _answer: self._writable(zone))

    def delete_rows(self, table: str) -> Operation[int]:
        return delete_rows(table, self.primary)

    def restore_to(self, target: datetime, name: str) -> Operation[LiveInstance]:
        """The binding restores; its result names the new instance's host and port, reached
        with the primary zone's credentials. The instance is known by `name` until reverted."""
        if target.tzinfo is None:
            raise ValueError(f"restore_to needs a timezone-aware target time, got {target}")
        if name in self.zones or name in self.restored:
            raise ValueError(f"a PostgreSQL instance named {name!r} already exists")
        at = target.isoformat()
        operation = self.bindings.operation(
            "database.restore_to",
            "PITR",
            f"restored copy {name} at {at}",
            {"target": at, "name": name},
        )
        restored = converted(operation, lambda answer: self._restored(name, answer))
        if restored.revert is None:
            return restored
        revert = restored.revert

        def remove() -> None:
            revert()
            self.restored.pop(name, None)

        return replace(restored, revert=remove)

    def lookups_committed_by(self, target: datetime) -> list[tuple]:
        return self.instance(self.primary_zone).query(LOOKUPS_COMMITTED_BY, (target,))

    def clock(self) -> datetime:
        [(now,)] = self.primary().query("SELECT clock_timestamp()")
        return now

    def details(self, zone: str) -> dict[str, Any]:
        [(in_recovery, timeline)] = self._zone(zone).query(
            "SELECT pg_is_in_recovery(), timeline_id FROM pg_control_checkpoint()"
        )
        return {"zone": zone, "in_recovery": in_recovery, "timeline": timeline}

    def _zone(self, zone: str) -> LiveInstance:
        if zone not in self.zones:
            raise LookupError(f"no PostgreSQL zone {zone!r}; the zones are {list(self.zones)}")
        return self.zones[zone]

    def _writable(self, zone: str) -> dict[str, Any]:
        node = self._zone(zone)
        wait_until(
            f"postgres {zone} to accept writes",
            lambda: (not (in_recovery := node.in_recovery()), f"in recovery: {in_recovery}"),
            self.ready_timeout_s,
        )
        return self.details(zone)

    def _restored(self, name: str, answer: Any) -> LiveInstance:
        """The instance the restore binding made, once it answers."""
        host, port = where_restored(answer)
        primary = self._zone(self.primary_zone)
        instance = LiveInstance(
            name,
            restored_dsn(primary.dsn, host, port),
            restored_dsn(primary.app_dsn, host, port),
        )
        self.restored[name] = instance
        wait_until(
            f"restored instance {name} at {host}:{port} to answer",
            lambda: (instance.query("SELECT 1") == [(1,)], "answered"),
            self.ready_timeout_s,
        )
        return instance


def pid_of(answer: Any) -> int | None:
    """The pid a kill binding reports ({"pid": int}), if it reports one."""
    if isinstance(answer, dict) and isinstance(answer.get("pid"), int):
        return answer["pid"]
    return None


def where_restored(answer: Any) -> tuple[str, int]:
    """The host and port of the database.restore_to binding's answer."""
    if not (
        isinstance(answer, dict)
        and isinstance(answer.get("host"), str)
        and isinstance(answer.get("port"), int)
    ):
        raise ValueError(
            "the database.restore_to binding must answer JSON with the new instance's "
            f'"host" (string) and "port" (integer), not {answer!r}'
        )
    return answer["host"], answer["port"]
