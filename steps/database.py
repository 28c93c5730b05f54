"""Database steps: restore points, a destructive change, PITR and the deletion queue."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

from pytest_bdd import given, parsers, then, when

from drillbook.bdd import performs
from drillbook.capabilities import Database, DatabaseInstance, Service
from drillbook.checks.duration import duration_check
from drillbook.checks.result import not_measured
from drillbook.checks.rows import history_matches, rows_match
from drillbook.drill import Drill
from steps import DatabaseInUse

RESTORED = "pitr"


@dataclass(frozen=True)
class RestoreTarget:
    PROVIDED_BY: ClassVar[str] = "Given the restore target time is marked"
    at: datetime
    rows: list[tuple]


@dataclass(frozen=True)
class Restored:
    PROVIDED_BY: ClassVar[str] = (
        "When the base backup and archived WAL are restored to the target time into a new instance"
    )
    instance: DatabaseInstance
    took_s: float


@dataclass(frozen=True)
class DeletedUsers:
    PROVIDED_BY: ClassVar[str] = 'When user "..." deletes their history through the service'
    users: tuple[str, ...]


@given("the restore target time is marked")
def mark_target(drill: Drill, database: Database) -> None:
    time.sleep(0.05)  # keep the target strictly after the last commit before it
    target = database.clock()
    time.sleep(0.05)  # and strictly before the first commit after it
    rows = database.lookups_committed_by(target)
    drill.remember(RestoreTarget(target, rows))
    drill.evidence.attach_text(
        f"psql {database.primary_zone}: lookups committed at or before {target.isoformat()}",
        rows_text(rows),
    )


@when("a bad DELETE removes every lookup")
@performs("database.delete_rows", table="lookups")
def bad_delete(drill: Drill, database: Database) -> None:
    deleted = drill.apply(database.delete_rows("lookups"))
    drill.evidence.attach_text("psql: DELETE FROM lookups", f"{deleted} rows deleted")


@when("the base backup and archived WAL are restored to the target time into a new instance")
@performs("database.restore_to", name=RESTORED)
def restore_pitr(drill: Drill, database: Database) -> None:
    target = drill.recall(RestoreTarget)
    started = time.monotonic()
    instance = drill.apply(database.restore_to(target.at, RESTORED))
    took = time.monotonic() - started
    drill.remember(Restored(instance, took))
    drill.evidence.attach_text(
        "pg restore: base backup + archived WAL",
        f"recovery_target_time = {target.at.isoformat()}\n"
        f"restored instance {instance.name}, ready after {took:.2f} s",
    )


@when("the service is pointed at the restored instance")
@performs("service.point_database", name=RESTORED)
def point_at_restored(drill: Drill, service: Service) -> None:
    restored = drill.recall(Restored).instance
    answer = drill.apply(service.point_database(restored.name))
    drill.remember(DatabaseInUse(restored.name))
    endpoint = {"dsn": restored.app_dsn, **answer}  # masked in the evidence
    drill.evidence.attach_json("service database endpoint", endpoint)


@when("the deletion queue is replayed from the target time")
@performs("service.replay_deletions")
def replay_deletions(drill: Drill, service: Service) -> None:
    since = drill.recall(RestoreTarget).at.timestamp()
    drill.evidence.attach_json(
        "POST /admin/deletions/replay", drill.apply(service.replay_deletions(since))
    )


@when(parsers.parse('user "{user}" deletes their history through the service'))
def user_deletes_history(drill: Drill, service: Service, user: str) -> None:
    answer = service.delete_history(user)
    before = drill.recall(DeletedUsers).users if drill.knows(DeletedUsers) else ()
    drill.remember(DeletedUsers((*before, user)))
    drill.evidence.attach_json(f"DELETE /history?user={user}", answer)


@then(parsers.parse('the restored "lookups" table equals its state at the target time'))
def restored_equals_target(drill: Drill) -> None:
    instance = drill.recall(Restored).instance
    restored = drill.observed(f"lookups of {instance.name}", instance.lookups)
    drill.evidence.attach_text(f"psql {instance.name}: every row of lookups", rows_text(restored))
    drill.verdict(rows_match("lookups", drill.recall(RestoreTarget).rows, restored))


@then(parsers.parse("the restore took at most {limit:g} {unit}"))
def restore_time(drill: Drill, limit: float, unit: str) -> None:
    drill.verdict(duration_check("restore time", drill.recall(Restored).took_s, limit, unit))


@then(parsers.parse('the history of user "{user}" is empty'))
def history_empty(drill: Drill, service: Service, user: str) -> None:
    """Not measured unless the user had lookups at the target time: with none, the restore
    brought nothing back that the replayed deletion had to remove again."""
    who = f"user {user}"
    if any(row_user == user for _id, row_user, *_ in drill.recall(RestoreTarget).rows):
        result = history_matches(who, {user: []}, {user: history_ids(drill, service, user)})
    else:
        why = f"{who} had no lookup at the target time, so an empty history proves nothing"
        result = not_measured(f"history of {who}", "users", 0, why)
    drill.verdict(result)


@then("the history of every other user equals its state at the target time")
def others_unchanged(drill: Drill, service: Service) -> None:
    deleted = set(drill.recall(DeletedUsers).users) if drill.knows(DeletedUsers) else set()
    expected: dict[str, list[int]] = {}
    for row_id, user, _word, _at in drill.recall(RestoreTarget).rows:
        if user not in deleted:
            expected.setdefault(user, []).append(row_id)
    got = {user: history_ids(drill, service, user) for user in expected}
    drill.verdict(history_matches("every other user", expected, got))


def history_ids(drill: Drill, service: Service, user: str) -> list[int]:
    """The ids of the user's history as the service answers it, read once for every Then."""
    history = drill.observed(f"history of {user}", lambda: service.history(user))
    return [item["id"] for item in history]


def rows_text(rows: list[tuple]) -> str:
    return "\n".join("\t".join(map(str, row)) for row in rows) + f"\n({len(rows)} rows)\n"
