"""Database steps: restore points, a destructive change, PITR and the deletion queue."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import ClassVar

from pytest_bdd import given, parsers, then, when

from drillbook.bdd import performs
from drillbook.capabilities import Database, DatabaseInstance, Service
from drillbook.checks.duration import duration_check
from drillbook.checks.result import CheckResult, not_measured
from drillbook.checks.rows import history_matches, rows_match, tables_match
from drillbook.draws import Draw, fraction
from drillbook.drill import Drill
from drillbook.evidence.ledger import iso_utc8
from drillbook.glancy import HISTORY_LIMIT
from drillbook.spot_check import pitr_spot_check, table_rows
from steps import DatabaseInUse, quoted

RESTORED = "pitr"
RESTORE_DRAW = "PITR spot check: restore target time"


@dataclass(frozen=True)
class RestoreTarget:
    PROVIDED_BY: ClassVar[str] = (
        "Given the restore target time is marked (or: a restore target time is drawn at random "
        "since the scenario began)"
    )
    at: datetime
    rows: list[tuple]
    drawn: bool = False


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
@when("the restore target time is marked")
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


DRAW_TARGET = "a restore target time is drawn at random since the scenario began"


@given(DRAW_TARGET)
@when(DRAW_TARGET)
def draw_target(
    drill: Drill, database: Database, draw_seed: int, progress: Callable[[str], None]
) -> None:
    """Seed 4.3's 随机恢复: a time drawn uniformly from the scenario so far, on the database's
    clock (its start is this long before the database's now), so that the restored copy holds
    what the scenario wrote before it and lacks what came after."""
    end = database.clock()
    start = end - timedelta(seconds=time.time() - drill.started_at)
    what = f"{RESTORE_DRAW} ({drill.scenario})"  # two scenarios of a session draw apart
    share = fraction(draw_seed, what)
    target = start + (end - start) * share
    draw = Draw(
        what,
        draw_seed,
        iso_utc8(target.timestamp()),
        f"{iso_utc8(start.timestamp())} to {iso_utc8(end.timestamp())} (the scenario so far), "
        f"{share:.1%} into it",
    )
    drill.drew(draw)
    progress(f"drew {draw}")
    time.sleep(0.05)  # a commit of the target's last instant is visible before the rows are read
    drill.remember(RestoreTarget(target, database.lookups_committed_by(target), drawn=True))


def deletable(row: str) -> str:
    """What a bad DELETE may remove: a row of the history, or a grant a payment bought; any
    other word leaves the step unknown, named before the drill starts."""
    return row


deletable.pattern = "lookup|entitlement"  # type: ignore[attr-defined]


@when(
    parsers.parse(
        "a bad DELETE removes every {row:Deletable}", extra_types={"Deletable": deletable}
    )
)
@performs("database.delete_rows", table="{row}s")
def bad_delete(drill: Drill, database: Database, row: str) -> None:
    table = f"{row}s"
    deleted = drill.apply(database.delete_rows(table))
    drill.evidence.attach_text(f"psql: DELETE FROM {table}", f"{deleted} rows deleted")


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
    target = drill.recall(RestoreTarget)
    verdict_with_spot_check(drill, target, rows_match("lookups", target.rows, restored))


@then(parsers.parse("the restored tables {tables} equal the source at the target time"))
def restored_tables_equal(drill: Drill, database: Database, tables: str) -> None:
    """The plan's PITR spot check (seed 4.3): each table of the restored copy against the
    source's rows committed by the target time (drillbook.spot_check), the line of the
    spot-check record written whatever the verdict."""
    target = drill.recall(RestoreTarget)
    restored = drill.recall(Restored).instance
    source = database.instance(database.primary_zone)
    names = quoted(tables)
    expected = {
        name: drill.observed(
            f"{name} committed by the target", partial(table_rows, source, name, target.at)
        )
        for name in names
    }
    got = {
        name: drill.observed(f"{name} of {restored.name}", partial(table_rows, restored, name))
        for name in names
    }
    verdict_with_spot_check(drill, target, tables_match(expected, got))


def verdict_with_spot_check(drill: Drill, target: RestoreTarget, result: CheckResult) -> None:
    """A restore's comparison is the plan's PITR spot check: its line of the 4.3 record is
    written whatever the verdict, then the verdict."""
    drill.spot_checked(pitr_spot_check(time.time(), target.at, result.figure, drawn=target.drawn))
    drill.verdict(result)


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
    rows: dict[str, list[tuple]] = {}
    for row_id, user, _word, at in drill.recall(RestoreTarget).rows:
        if user not in deleted:
            rows.setdefault(user, []).append((at, row_id))
    # The service shows a user's newest HISTORY_LIMIT lookups (a probe user of a drill probed at
    # 50 Hz has more): what it can show is what is compared.
    expected = {
        user: [row_id for _at, row_id in sorted(held, reverse=True)[:HISTORY_LIMIT]]
        for user, held in rows.items()
    }
    got = {user: history_ids(drill, service, user) for user in expected}
    drill.verdict(history_matches("every other user", expected, got))


def history_ids(drill: Drill, service: Service, user: str) -> list[int]:
    """The ids of the user's history as the service answers it, read once for every Then."""
    history = drill.observed(f"history of {user}", lambda: service.history(user))
    return [item["id"] for item in history]


def rows_text(rows: list[tuple]) -> str:
    return "\n".join("\t".join(map(str, row)) for row in rows) + f"\n({len(rows)} rows)\n"
