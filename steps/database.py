"""Database steps: restore points, a destructive change, PITR and the deletion queue."""

from __future__ import annotations

import time
from datetime import datetime
from functools import partial

import httpx
from pytest_bdd import given, parsers, then, when

from drillbook.checks.duration import duration_check
from drillbook.drill import Drill
from drillbook.faults.heal import heal_database
from drillbook.faults.journal import FaultJournal
from drillbook.stack import LocalStack
from drillbook.stack.postgres import APP_DB, PgNode

ROWS_AT_TARGET = (
    "SELECT id, user_id, word, looked_up_at FROM lookups"
    " WHERE pg_xact_commit_timestamp(xmin) <= %s ORDER BY id"
)
ALL_ROWS = "SELECT id, user_id, word, looked_up_at FROM lookups ORDER BY id"


@given("the restore target time is marked")
def mark_target(drill: Drill, environment: LocalStack) -> None:
    time.sleep(0.05)  # keep the target strictly after the last commit before it
    [(target,)] = app_query(environment.pg.primary, "SELECT clock_timestamp()")
    time.sleep(0.05)  # and strictly before the first commit after it
    drill.facts["target"] = target
    drill.marks["restore target"] = target.timestamp()
    drill.facts["rows_at_target"] = app_query(environment.pg.primary, ROWS_AT_TARGET, (target,))
    drill.evidence.attach_text(
        f"psql az-a: lookups committed at or before {target.isoformat()}",
        rows_text(drill.facts["rows_at_target"]),
    )


@when("a bad DELETE removes every lookup")
def bad_delete(drill: Drill, environment: LocalStack, journal: FaultJournal) -> None:
    primary = environment.pg.primary
    lost = app_query(primary, ALL_ROWS)
    drill.mark_fault()
    journal.inject(
        "bad DELETE",
        "table lookups on az-a",
        partial(app_query, primary, "DELETE FROM lookups"),
        partial(reinsert_lookups, environment, lost),
    )
    drill.evidence.attach_text("psql az-a: DELETE FROM lookups", f"{len(lost)} rows deleted")


def reinsert_lookups(environment: LocalStack, rows: list[tuple]) -> None:
    """Heal of the bad DELETE: the rows it removed are put back in the live primary."""
    for row in rows:
        app_query(
            environment.pg.primary,
            "INSERT INTO lookups (id, user_id, word, looked_up_at) VALUES (%s, %s, %s, %s)"
            " ON CONFLICT (id) DO NOTHING",
            row,
        )


@when("the base backup and archived WAL are restored to the target time into a new instance")
def restore_pitr(drill: Drill, environment: LocalStack, journal: FaultJournal) -> None:
    target: datetime = drill.facts["target"]
    drill.mark_fault()
    started = time.monotonic()
    made: list = []

    def destroy_restored_instance() -> None:
        for node in made:
            node.destroy()

    def restore() -> object:
        made.append(environment.pg.restore_pitr(target, "pitr"))
        return made[0]

    restored = journal.inject(
        "PITR instance",
        f"restored copy at {target.isoformat()}",
        restore,
        destroy_restored_instance,
    )
    drill.facts["restore_s"] = time.monotonic() - started
    drill.recovered_at = time.time()
    drill.facts["restored"] = restored
    drill.evidence.attach_text(
        "pg restore: base backup + archived WAL",
        f"recovery_target_time = {target.isoformat()}\n"
        f"restored instance on port {restored.port}, ready after {drill.facts['restore_s']:.2f} s",
    )


@when("the service is pointed at the restored instance")
def point_at_restored(drill: Drill, environment: LocalStack, journal: FaultJournal) -> None:
    restored = drill.facts["restored"]
    journal.inject(
        "switch endpoint",
        "service database -> restored instance",
        partial(environment.service.switch_database, restored.app_dsn),
        partial(heal_database, environment),
    )


@when("the deletion queue is replayed from the target time")
def replay_deletions(drill: Drill, environment: LocalStack) -> None:
    response = httpx.post(
        f"{environment.service.url}/admin/deletions/replay",
        json={"since": drill.marks["restore target"]},
        timeout=10.0,
    )
    response.raise_for_status()
    drill.evidence.attach_json("POST /admin/deletions/replay", response.json())


@when(parsers.parse('user "{user}" deletes their history through the service'))
def user_deletes_history(drill: Drill, environment: LocalStack, user: str) -> None:
    response = httpx.request(
        "DELETE", f"{environment.service.url}/history", params={"user": user}, timeout=5.0
    )
    response.raise_for_status()
    drill.facts.setdefault("deleted_users", []).append(user)
    drill.evidence.attach_json(f"DELETE /history?user={user}", response.json())


@then(parsers.parse('the restored "lookups" table equals its state at the target time'))
def restored_equals_target(drill: Drill) -> None:
    restored = app_query(drill.facts["restored"], ALL_ROWS)
    expected = drill.facts["rows_at_target"]
    drill.evidence.attach_text("psql restored: " + ALL_ROWS, rows_text(restored))
    missing = sorted(set(expected) - set(restored))
    extra = sorted(set(restored) - set(expected))
    diff = {
        "expected_rows": len(expected),
        "restored_rows": len(restored),
        "missing": [list(map(str, r)) for r in missing[:20]],
        "unexpected": [list(map(str, r)) for r in extra[:20]],
    }
    drill.evidence.attach_json("PITR diff (restored vs state at target time)", diff)
    assert not missing and not extra, (
        f"restored lookups differ from the state at the target time: {len(missing)} rows "
        f"missing, {len(extra)} unexpected (of {len(expected)} expected); first: "
        f"{(missing or extra)[0]}"
    )


@then(parsers.parse("the restore took at most {limit:g} {unit}"))
def restore_time(drill: Drill, limit: float, unit: str) -> None:
    drill.check(duration_check("restore time", drill.facts["restore_s"], limit, unit))


@then(parsers.parse('the history of user "{user}" is empty'))
def history_empty(environment: LocalStack, user: str) -> None:
    items = service_history(environment, user)
    assert not items, f"user {user} still has {len(items)} lookups after the replay: {items[:3]}"


@then("the history of every other user equals its state at the target time")
def others_unchanged(drill: Drill, environment: LocalStack) -> None:
    deleted = set(drill.facts.get("deleted_users", []))
    expected: dict[str, list[int]] = {}
    for row_id, user, _word, _at in drill.facts["rows_at_target"]:
        if user not in deleted:
            expected.setdefault(user, []).append(row_id)
    for user, ids in expected.items():
        got = sorted(item["id"] for item in service_history(environment, user))
        assert got == sorted(ids), f"history of {user}: expected ids {sorted(ids)}, got {got}"


def service_history(environment: LocalStack, user: str) -> list[dict]:
    response = httpx.get(
        f"{environment.service.url}/history", params={"user": user, "limit": 1000}, timeout=5.0
    )
    response.raise_for_status()
    return response.json()["items"]


def app_query(node: PgNode, statement: str, params: tuple | None = None) -> list[tuple]:
    """A query in the service's database, as superuser, straight to the node."""
    return node.query(statement, params, dbname=APP_DB)


def rows_text(rows: list[tuple]) -> str:
    return "\n".join("\t".join(map(str, row)) for row in rows) + f"\n({len(rows)} rows)\n"
