"""A payment record as the provider sends it: each field checked by name, the checkout's trace
id optional (a provider keeps it as the merchant's metadata)."""

from __future__ import annotations

import pytest

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
