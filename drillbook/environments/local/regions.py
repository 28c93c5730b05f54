"""The primary region's side of a failback on the embedded stack (runbook 5.2, 回切).

After a cutover the standby region takes the writes. Failing back follows the same steps the
other way: the primary region's pair is rebuilt as a warm standby of the standby region's
database (across the link back, `pg-cascade-<primary region>`), then takes over from it:
the standby region fenced (its database read-only, its clients' sessions ended), its last WAL
replayed in az-a, the regions' tables compared, az-a promoted and the service pointed at it.
Nothing acknowledged in either region is lost. The standby region is then a warm standby
again (StandbyRegion.stand_by).
"""

from __future__ import annotations

from collections.abc import Callable

from psycopg import sql

from drillbook.environments.local.heal import heal_database
from drillbook.stack import LocalStack
from drillbook.stack.postgres import APP_DB, APP_USER, PgNode
from drillbook.stack.standby_region import StandbyRegion

TABLES = "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename"
# Every row as text, in order, hashed: two instances hold the same table iff these agree.
TABLE_DIGEST = (
    "SELECT count(*), md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) FROM {} t"
)
FENCE: list[tuple[str, list[str]]] = [
    ("ALTER SYSTEM SET default_transaction_read_only = on", []),
    ("SELECT pg_reload_conf()", []),
    # a session that began before the reload could still hold a write transaction open
    (
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE usename = %s",
        [APP_USER],
    ),
]


def rebuild_home(stack: LocalStack) -> dict:
    """The primary region's pair a warm standby of the standby region's database, which took
    over: az-a streaming from it across the link back, az-b from az-a."""
    region = standby_region(stack)
    stack.pg.rebuild_from(region.database, region.return_port)
    return {"region": region.home_region, "source": region.database.name}


def reclaim_home(stack: LocalStack) -> None:
    """The primary region writable again with what it holds (a rebuild's revert): az-a
    promoted if it is a standby, the pair and the service as at the start."""
    az_a = stack.pg.node("az-a")
    if az_a.running and az_a.is_in_recovery():
        az_a.promote()
    heal_database(stack)


def fail_back(stack: LocalStack, timeout_s: float) -> dict:
    """The rebuilt primary region takes over from the standby region, losing nothing."""
    region = standby_region(stack)
    source, az_a = region.database, stack.pg.node("az-a")
    if not az_a.is_in_recovery():
        raise RuntimeError(
            f"az-a accepts writes: rebuild {region.home_region} as a warm standby of "
            f"{region.region} before it takes over"
        )
    for statement, params in FENCE:
        source.query(statement, params)
    [(lsn,)] = source.query("SELECT pg_current_wal_lsn()::text")
    az_a.wait_until(replayed(az_a, lsn), timeout_s)
    diff = table_diff(source, az_a)
    az_a.promote()
    stack.pg.restore_topology()
    stack.service.switch_database(az_a.app_dsn)
    return {
        "region": region.home_region,
        "database": az_a.name,
        "fenced": source.name,
        "fenced_at_lsn": lsn,
        "diff": diff,
    }


def replayed(node: PgNode, lsn: str) -> Callable[[], None]:
    def check() -> None:
        [(done, at)] = node.query(
            "SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn, pg_last_wal_replay_lsn()::text", [lsn]
        )
        if not done:
            raise RuntimeError(f"{node.name} replayed up to {at}, short of {lsn}")

    return check


def table_diff(*nodes: PgNode) -> dict[str, dict[str, dict]]:
    """Table -> node -> {"rows", "md5"} of the service's tables on each node."""
    names = [name for (name,) in nodes[0].query(TABLES, dbname=APP_DB)]
    return {
        name: {
            node.name: dict(
                zip(("rows", "md5"), node.query(digest(name), dbname=APP_DB)[0], strict=True)
            )
            for node in nodes
        }
        for name in names
    }


def digest(table: str) -> sql.Composed:
    return sql.SQL(TABLE_DIGEST).format(sql.Identifier("public", table))


def standby_region(stack: LocalStack) -> StandbyRegion:
    if stack.standby is None:
        raise ValueError("the stack runs no standby region (local.standby_region)")
    return stack.standby
