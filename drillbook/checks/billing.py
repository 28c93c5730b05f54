"""Orders and entitlements against the payments clients were told were paid (the plan's
订阅/订单/账单 row: PITR + order reconciliation). A paid order without its entitlement is a
customer who paid for nothing; one entitled twice is given away."""

from __future__ import annotations

from drillbook.checks.exports import acknowledged
from drillbook.checks.result import CheckResult, not_measured
from drillbook.workload import History

UNIT = "orders"


def entitled_once(
    history: History, prefix: str, entitlements: dict[str, int], by: float | None = None
) -> CheckResult:
    """Every payment acknowledged to its client (by `by`, epoch seconds, when given) has its
    order in the database with exactly one entitlement; and no order there, acknowledged or
    not, has more than one. `entitlements`: each order's payment id -> its entitlements."""
    scope = "during the drill" if by is None else "before the target time"
    name = f"payments acknowledged {scope} without their order and one entitlement"
    acked = [p for p, at in acknowledged(history, prefix).items() if by is None or at <= by]
    if not acked:
        requests = len(history.ops(prefix=prefix))
        why = f"no payment of the {requests} checkouts of {prefix}* was acknowledged {scope}"
        return not_measured(name, UNIT, 0, why, {"checkouts": requests, "acknowledged": 0})
    no_order = sorted(p for p in acked if p not in entitlements)
    unentitled = sorted(p for p in acked if entitlements.get(p) == 0)
    twice = sorted(p for p, n in entitlements.items() if n > 1)
    details = {
        "acknowledged": len(acked),
        "orders": len(entitlements),
        "without_order": no_order[:20],
        "without_order_count": len(no_order),
        "without_entitlement": unentitled[:20],
        "entitled_more_than_once": {p: entitlements[p] for p in twice[:20]},
        "entitled_more_than_once_count": len(twice),
    }
    figure = len(no_order) + len(unentitled) + len(twice)
    explanation = (
        f"{len(acked) - len(no_order) - len(unentitled)} of {len(acked)} payments acknowledged "
        f"{scope} have their order and entitlement; {len(no_order)} without an order, "
        f"{len(unentitled)} without an entitlement, {len(twice)} orders entitled more than once"
    )
    for label, ids in (("without an order", no_order), ("entitled more than once", twice)):
        if ids:
            explanation += f"; first {label}: {ids[0]}"
    return CheckResult(name, figure, UNIT, 0, figure == 0, explanation, details)
