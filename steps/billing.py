"""Billing (the plan's 订阅/订单/账单 row: PITR + order reconciliation): clients pay through the
service's checkout, the reconciliation job runs after a restore, and every payment a client was
told was paid must end with its order and exactly one entitlement."""

from __future__ import annotations

import itertools
from collections.abc import Callable

from pytest_bdd import given, parsers, then, when

from drillbook.bdd import performs
from drillbook.capabilities import Database, DatabaseInstance, Service
from drillbook.checks.billing import entitled_once
from drillbook.checks.exports import acknowledged
from drillbook.drill import Drill
from drillbook.glancy_sql import ENTITLEMENTS_BY_ORDER
from drillbook.waits import WaitTimeout, wait_until
from drillbook.workload import HttpProbe
from steps import database_in_use, probe_process
from steps.database import RestoreTarget
from steps.traffic import user_id

CHECKOUT = "/billing/checkout"
CHECKOUTS = probe_process(CHECKOUT)
USERS = 10
REQUEST_TIMEOUT_S = 5.0
# The plan's signal for this row: an entitlement later than 5 s after its payment. The provider
# calls back after it answers the checkout, so a check waits that long for the last payments'
# orders before it reads them.
ENTITLEMENT_DELAY_S = 5.0


@given(parsers.parse("payments are made every {interval:d} ms"))
def payments_made(drill: Drill, service: Service, interval: int) -> None:
    users = itertools.cycle([user_id(n) for n in range(1, USERS + 1)])
    drill.run_client(
        HttpProbe(
            drill.history,
            service.url,
            CHECKOUT,
            interval_s=interval / 1000,
            timeout_s=REQUEST_TIMEOUT_S,
            method="POST",
            body=lambda: {"user": next(users), "plan": "monthly"},
            record=lambda response: response.json()["payment_id"],
        )
    )


@when("the orders are reconciled with the payment provider")
@performs("service.reconcile_orders")
def reconcile(drill: Drill, service: Service) -> None:
    drill.evidence.attach_json(
        "POST /admin/billing/reconcile", drill.apply(service.reconcile_orders())
    )


@when("the orders are checked against the payment provider")
def check_orders(drill: Drill, service: Service, progress: Callable[[str], None]) -> None:
    """The reconciliation job without repair: what a restore lost is found and named, and a
    billing alert may page on it, before the repair mends it."""
    report = service.check_orders()
    drill.evidence.attach_json("POST /admin/billing/reconcile without repair", report)
    found = {k: len(v) for k, v in report.items() if isinstance(v, list) and v and k != "repaired"}
    progress(f"reconciliation without repair found {found or 'nothing'}")


@then("every payment acknowledged before the target time has its order and one entitlement")
def entitled_before_target(
    drill: Drill, database: Database, progress: Callable[[str], None]
) -> None:
    by = drill.recall(RestoreTarget).at.timestamp()
    orders = entitlements(drill, database, progress)
    drill.verdict(entitled_once(drill.history, CHECKOUTS, orders, by))


@then("every payment acknowledged during the drill has its order and one entitlement")
def entitled_during_drill(
    drill: Drill, database: Database, progress: Callable[[str], None]
) -> None:
    drill.verdict(entitled_once(drill.history, CHECKOUTS, entitlements(drill, database, progress)))


def entitlements(
    drill: Drill, database: Database, progress: Callable[[str], None]
) -> dict[str, int]:
    """Each order's entitlements in the database the service uses, read once every
    acknowledged payment has its order or ENTITLEMENT_DELAY_S has passed (the check then names
    what is missing)."""
    instance = database.instance(database_in_use(drill, database.primary_zone))
    paid = acknowledged(drill.history, CHECKOUTS)

    def read() -> dict[str, int]:
        try:
            return wait_until(
                f"the orders of {len(paid)} acknowledged payments in {instance.name}",
                lambda: _all_ordered(instance, paid),
                ENTITLEMENT_DELAY_S,
                progress=progress,
            ).last
        except WaitTimeout:
            return _orders(instance)

    orders = drill.observed(f"entitlements of the orders in {instance.name}", read)
    drill.evidence.attach_json(f"psql {instance.name}: entitlements per order", orders)
    return orders


def _all_ordered(instance: DatabaseInstance, paid: dict[str, float]) -> tuple[bool, dict]:
    orders = _orders(instance)
    return paid.keys() <= orders.keys(), orders


def _orders(instance: DatabaseInstance) -> dict[str, int]:
    return dict(instance.query(ENTITLEMENTS_BY_ORDER))
