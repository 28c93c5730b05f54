"""Orders and entitlements against the payments clients saw acknowledged, passing and failing."""

from __future__ import annotations

from drillbook.checks.billing import entitled_once
from drillbook.workload import History, Op

T0 = 1_700_000_000.0
PREFIX = "probe:/billing/checkout"


def checkouts(*answers: tuple[str, str | None]) -> History:
    """POST /billing/checkout every second: (outcome, payment id) each, answered in 50 ms."""
    history = History()
    for i, (outcome, payment) in enumerate(answers):
        start = T0 + i
        history.record(Op(PREFIX, "POST /billing/checkout", start, start + 0.05, outcome, payment))
    return history


def test_every_acknowledged_payment_with_one_entitlement_passes():
    result = entitled_once(checkouts(("ok", "p1"), ("ok", "p2")), PREFIX, {"p1": 1, "p2": 1})
    assert result.passed and result.figure == 0
    assert result.details["acknowledged"] == 2


def test_a_payment_without_its_order_fails_and_names_it():
    result = entitled_once(checkouts(("ok", "p1"), ("ok", "p2")), PREFIX, {"p1": 1})
    assert not result.passed and result.figure == 1
    assert result.details["without_order"] == ["p2"]
    assert "first without an order: p2" in result.explanation


def test_an_order_without_its_entitlement_fails():
    result = entitled_once(checkouts(("ok", "p1")), PREFIX, {"p1": 0})
    assert not result.passed and result.details["without_entitlement"] == ["p1"]


def test_an_order_entitled_twice_fails_even_if_no_client_saw_it_paid():
    result = entitled_once(checkouts(("ok", "p1")), PREFIX, {"p1": 1, "p-unseen": 2})
    assert not result.passed and result.figure == 1
    assert result.details["entitled_more_than_once"] == {"p-unseen": 2}


def test_before_the_target_only_the_payments_acknowledged_by_then_count():
    history = checkouts(("ok", "p1"), ("ok", "p2"))
    result = entitled_once(history, PREFIX, {"p1": 1}, by=T0 + 0.5)
    assert result.passed and result.details["acknowledged"] == 1
    assert "before the target time" in result.name


def test_no_acknowledged_payment_is_not_measured():
    result = entitled_once(checkouts(("fail", None)), PREFIX, {}, by=None)
    assert not result.measured and not result.passed
    assert "no payment of the 1 checkouts" in result.explanation
    early = entitled_once(checkouts(("ok", "p1")), PREFIX, {"p1": 1}, by=T0 - 1)
    assert not early.measured
