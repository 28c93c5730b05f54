"""A payment record as the provider sends it: each field checked by name, the checkout's trace
id optional (a provider keeps it as the merchant's metadata); and what the reconciliation's
repair counts as mended."""

from __future__ import annotations

import asyncio

import pytest

from reference import billing
from reference.billing import InvalidPayment, Payment

PAID = {"id": "pay_1", "user": "user-1", "plan": "monthly", "amount_cents": 1800, "paid_at": 1.5}


def test_a_payment_without_a_trace_id_has_none_and_one_with_it_keeps_it():
    assert Payment.from_json(PAID).trace_id is None
    trace = "4bf92f3577b34da6a3ce929d0e0e4736"
    payment = Payment.from_json(PAID | {"trace_id": trace})
    assert payment.trace_id == trace and payment.as_json()["trace_id"] == trace


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"trace_id": 7}, "'trace_id' must be str or null"),
        ({"paid_at": "soon"}, "'paid_at' must be float"),
        ({"plan": "weekly"}, "unknown plan 'weekly'"),
    ],
)
def test_a_malformed_payment_is_refused_naming_its_field(change: dict, named: str):
    with pytest.raises(InvalidPayment, match=named):
        Payment.from_json(PAID | change)


def test_a_missing_order_its_callback_recorded_first_is_mended_but_not_by_the_repair(monkeypatch):
    recorded = {"pay_a": True, "pay_b": False}  # pay_b's callback committed before the repair
    granted: list[str] = []

    async def record(_conn, payment: Payment, _source: str) -> dict:
        return {"payment_id": payment.id, "recorded": recorded[payment.id]}

    async def grant(_conn, payment_id: str) -> None:
        granted.append(payment_id)

    monkeypatch.setattr(billing, "record", record)
    monkeypatch.setattr(billing, "grant", grant)
    missing = [Payment.from_json(PAID | {"id": pid}) for pid in recorded]
    repaired, meanwhile = asyncio.run(billing._repair(None, missing, ["pay_c"]))
    assert (repaired, meanwhile, granted) == (["pay_a", "pay_c"], ["pay_b"], ["pay_c"])
    problems = {"missing_orders": ["pay_a", "pay_b"], "orders_without_entitlement": ["pay_c"]}
    assert billing.left_unresolved(problems, repaired + meanwhile) == {
        "missing_orders": [],
        "orders_without_entitlement": [],
    }
