"""Heals of the local environment: each puts one part back to its clean state.

They are what the fault journal calls to revert a fault. Each is idempotent, so faults that
share a heal (kill, promote and switch of one failover) are undone by its first call.
"""

from __future__ import annotations

from drillbook.glancy_sql import inserts
from drillbook.stack import LocalStack
from drillbook.stack.postgres import APP_DB, PgNode


def heal_database(stack: LocalStack) -> None:
    """az-a primary, az-b streaming standby, the service connected to az-a, no data lost; the
    standby region's database, if a standby, re-seeded from the rebuilt az-b, whose WAL it
    cannot follow (without waiting: the link between the regions may still be cut). One that
    took writes is left as it is: its takeover's revert decides."""
    rebuilt = stack.pg.restore_topology()
    stack.service.switch_database(stack.pg.primary.app_dsn)
    standby = stack.standby
    if rebuilt and standby is not None and standby.database.is_in_recovery():
        standby.reseed_database(wait=False)


# What the service records of a payment, and where (reference/schema.sql)
_SUBSCRIPTION = ("subscriptions", ("user_id", "plan", "created_at"))
_ORDER = (
    "orders",
    ("payment_id", "user_id", "plan", "amount_cents", "paid_at", "recorded_at", "source"),
)
_ENTITLEMENT = (
    "entitlements",
    ("payment_id", "user_id", "plan", "starts_at", "ends_at", "granted_at"),
)


def keep_orders(copy: PgNode, primary: PgNode) -> int:
    """The orders `copy` holds and `primary` does not, with their entitlements and
    subscriptions, copied to `primary` as they were; how many orders. The service took these
    payments' callbacks while it used a restored copy that its heal then leaves: the payment
    provider still holds the payments, so without them a later reconciliation would find
    orders missing that no drill of its own lost."""
    held = primary.query("SELECT payment_id FROM orders", dbname=APP_DB)
    known = {payment for (payment,) in held}
    orders = [row for row in _rows(copy, _ORDER) if row[0] not in known]
    if not orders:
        return 0
    payments = [row[0] for row in orders]
    users = {(row[1], row[2]) for row in orders}
    subscriptions = [row for row in _rows(copy, _SUBSCRIPTION) if (row[0], row[1]) in users]
    entitlements = _rows(copy, _ENTITLEMENT, "WHERE payment_id = ANY(%s)", [payments])
    # each order before what refers to it; an entitlement only of an order kept here, so none
    # is granted twice
    for (table, columns), rows in (
        (_SUBSCRIPTION, subscriptions),
        (_ORDER, orders),
        (_ENTITLEMENT, entitlements),
    ):
        for statement, params in inserts(table, columns, rows):
            primary.query(statement, params, dbname=APP_DB)
    return len(orders)


Table = tuple[str, tuple[str, ...]]


def _rows(node: PgNode, table: Table, where: str = "", params: list | None = None) -> list[tuple]:
    name, columns = table
    select = f"SELECT {', '.join(columns)} FROM {name} {where}"  # noqa: S608 - known tables
    return node.query(select, params, dbname=APP_DB)


def heal_redis(stack: LocalStack) -> None:
    """Redis primary up and followed by its replica, their proxies clean, the service on the
    primary; what a promoted replica took before the heal is kept (see restore_topology)."""
    for node in stack.redis.nodes:
        stack.toxiproxy.reset_proxy(node.name)
    stack.redis.restore_topology()
    stack.service.switch_redis(stack.redis.primary.url)


def heal_export_worker(stack: LocalStack) -> None:
    """An export worker running: a new consumer; what a killed one held waits for a replay."""
    stack.export_worker.ensure_running()
