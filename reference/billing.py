"""Subscriptions, orders and entitlements (the plan's 订阅/订单/账单 row: PITR + reconciliation).

A client checks out through the service, which asks the payment provider to charge. The
provider calls back `/billing/callback` once the payment is paid, signed with the shared secret,
and delivers it again until the service acknowledges it. The callback records the order and
grants its entitlement in one transaction, once per payment however often it arrives.

The reconciliation job compares the provider's records with the orders and their entitlements.
A restore to an earlier time loses the orders paid after it, which the provider still holds:
with `repair`, the job records those (and grants what an order lacks), so every payment ends
with one order and one entitlement.

The checkout's trace id travels with the charge and the provider keeps it with the payment, as
a provider keeps a merchant's metadata: a payment the reconciliation finds wrong, or entitles
late, names the request that paid it.
"""

from __future__ import annotations

import hashlib
import hmac
import math
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
from psycopg import AsyncConnection

from reference.config import BillingConfig
from reference.database import Database

# The header a callback's signature travels in: the HMAC-SHA256 of its body, in hex.
SIGNATURE = "X-Payment-Signature"
CALLBACK, RECONCILIATION = "callback", "reconciliation"


@dataclass(frozen=True)
class Plan:
    days: int
    amount_cents: int


PLANS = {"monthly": Plan(30, 1800), "yearly": Plan(365, 16800)}


class InvalidPayment(ValueError):
    """A payment record that is not one of the provider's (a field missing or malformed)."""


class ProviderUnavailable(RuntimeError):
    """The payment provider did not answer, or answered an error."""


@dataclass(frozen=True)
class Payment:
    """A paid payment as the provider records it; `paid_at` is the provider's epoch seconds."""

    id: str
    user: str
    plan: str
    amount_cents: int
    paid_at: float
    # the trace id of the checkout that charged it, if it carried one
    trace_id: str | None = None

    @classmethod
    def from_json(cls, data: Any) -> Payment:
        if not isinstance(data, dict):
            raise InvalidPayment("a payment must be a JSON object")
        fields = {"id": str, "user": str, "plan": str, "amount_cents": int, "paid_at": float}
        for name, kind in fields.items():
            value = data.get(name)
            accepted = (int, float) if kind is float else kind
            if isinstance(value, bool) or not isinstance(value, accepted):
                raise InvalidPayment(f"payment field {name!r} must be {kind.__name__}")
        if data["plan"] not in PLANS:
            raise InvalidPayment(f"unknown plan {data['plan']!r} (plans: {', '.join(PLANS)})")
        if not math.isfinite(data["paid_at"]):
            raise InvalidPayment("payment field 'paid_at' must be a finite time")
        trace = data.get("trace_id")
        if trace is not None and not isinstance(trace, str):
            raise InvalidPayment("payment field 'trace_id' must be str or null")
        return cls(**{name: data[name] for name in fields}, trace_id=trace)

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def signature(secret: str, body: bytes) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def signed_by(secret: str, body: bytes, given: str | None) -> bool:
    return given is not None and hmac.compare_digest(signature(secret, body), given)


class Provider:
    """The payment provider's API as the service calls it, each call bounded by its timeout."""

    def __init__(self, config: BillingConfig) -> None:
        self._client = httpx.AsyncClient(
            base_url=config.provider_url, timeout=httpx.Timeout(config.timeout_s)
        )

    async def charge(self, user: str, plan: str, trace_id: str | None) -> Payment:
        body = {
            "user": user,
            "plan": plan,
            "amount_cents": PLANS[plan].amount_cents,
            "trace_id": trace_id,
        }
        return Payment.from_json(await self._call("POST", "/v1/payments", body))

    async def payments(self) -> list[Payment]:
        return [Payment.from_json(p) for p in (await self._call("GET", "/v1/payments"))["payments"]]

    async def _call(self, method: str, path: str, body: dict | None = None) -> Any:
        try:
            response = await self._client.request(method, path, json=body)
        except httpx.HTTPError as exc:
            raise ProviderUnavailable(f"{method} {path}: {type(exc).__name__}: {exc}") from None
        if not response.is_success:
            raise ProviderUnavailable(
                f"{method} {path} answered {response.status_code}: {response.text[:200]}"
            )
        try:
            return response.json()
        except ValueError:
            raise ProviderUnavailable(f"{method} {path} answered no JSON") from None

    async def aclose(self) -> None:
        await self._client.aclose()


async def record(conn: AsyncConnection, payment: Payment, source: str) -> dict[str, Any]:
    """The payment's order and its entitlement, in the caller's transaction; nothing when the
    order is already recorded (a callback delivered again)."""
    await conn.execute(
        "INSERT INTO subscriptions (user_id, plan) VALUES (%s, %s) ON CONFLICT DO NOTHING",
        (payment.user, payment.plan),
    )
    cur = await conn.execute(
        "INSERT INTO orders (payment_id, user_id, plan, amount_cents, paid_at, source)"
        " VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (payment_id) DO NOTHING",
        (payment.id, payment.user, payment.plan, payment.amount_cents, _time(payment), source),
    )
    recorded = cur.rowcount == 1
    if recorded:
        await grant(conn, payment.id)
    return {"payment_id": payment.id, "recorded": recorded}


async def grant(conn: AsyncConnection, payment_id: str) -> None:
    """The order's entitlement: its plan's days, from the end of the user's last period of
    that plan or from now. The subscription's row is locked first, so two payments of one
    user are granted one after the other, not over the same days."""
    cur = await conn.execute(
        "SELECT user_id, plan FROM orders WHERE payment_id = %s", (payment_id,)
    )
    user, plan = await cur.fetchone()
    await conn.execute(
        "SELECT 1 FROM subscriptions WHERE user_id = %s AND plan = %s FOR UPDATE", (user, plan)
    )
    await conn.execute(
        "INSERT INTO entitlements (payment_id, user_id, plan, starts_at, ends_at)"
        " SELECT %(payment)s, %(user)s, %(plan)s, s.at, s.at + make_interval(days => %(days)s)"
        " FROM (SELECT greatest(clock_timestamp(), max(ends_at)) AS at FROM entitlements"
        "       WHERE user_id = %(user)s AND plan = %(plan)s) s",
        {"payment": payment_id, "user": user, "plan": plan, "days": PLANS[plan].days},
    )


# The kinds of finding repair mends; the others are reported, never changed.
MENDED = ("missing_orders", "orders_without_entitlement")


@dataclass(frozen=True)
class Reconciliation:
    """What the job found and mended (`report`, as the admin API answers it); what it left
    unresolved, by kind; the provider's payments; and those it entitled itself."""

    report: dict[str, Any]
    unresolved: dict[str, list[str]]
    payments: dict[str, Payment]
    entitled: list[Payment]

    def unresolved_payments(self) -> list[Payment]:
        """The provider's payments behind the findings left unresolved (an order the provider
        does not know has none)."""
        ids = {pid for found in self.unresolved.values() for pid in found}
        return [self.payments[pid] for pid in sorted(ids) if pid in self.payments]


async def reconcile(db: Database, provider: Provider, repair: bool) -> Reconciliation:
    """The provider's payments against the orders and their entitlements: what differs, and,
    with `repair`, what was recorded or granted to mend it. Orders the provider does not know
    and orders whose amount or plan differ are reported, never changed."""
    payments = {p.id: p for p in await provider.payments()}
    orders = await db.run(_orders)
    missing = [p for pid, p in payments.items() if pid not in orders]
    problems = {
        "missing_orders": [p.id for p in missing],
        "unknown_orders": sorted(set(orders) - set(payments)),
        "mismatched_orders": sorted(
            pid for pid, o in orders.items() if pid in payments and _differs(o, payments[pid])
        ),
        "orders_without_entitlement": sorted(pid for pid, o in orders.items() if o[3] == 0),
        "orders_entitled_more_than_once": sorted(pid for pid, o in orders.items() if o[3] > 1),
    }
    # an order the provider does not know, or whose plan or amount differ, is not granted
    unentitled = [
        pid
        for pid in problems["orders_without_entitlement"]
        if pid in payments and pid not in problems["mismatched_orders"]
    ]
    repaired: list[str] = []
    recorded_meanwhile: list[str] = []
    if repair:
        repaired, recorded_meanwhile = await db.run(lambda conn: _repair(conn, missing, unentitled))
    return Reconciliation(
        {"payments": len(payments), "orders": len(orders), **problems, "repaired": repaired},
        unresolved=left_unresolved(problems, repaired + recorded_meanwhile),
        payments=payments,
        entitled=[payments[pid] for pid in repaired],
    )


def left_unresolved(problems: dict[str, list[str]], mended: list[str]) -> dict[str, list[str]]:
    """Each kind's findings not `mended` since: a finding of a kind repair does not mend stays,
    whatever else was mended for the same payment."""
    done = set(mended)
    return {
        kind: [pid for pid in found if kind not in MENDED or pid not in done]
        for kind, found in problems.items()
    }


async def _orders(conn: AsyncConnection) -> dict[str, tuple[str, str, int, int]]:
    """Every order: user, plan, amount and how many entitlements it has."""
    cur = await conn.execute(
        "SELECT o.payment_id, o.user_id, o.plan, o.amount_cents, count(e.id) FROM orders o"
        " LEFT JOIN entitlements e ON e.payment_id = o.payment_id GROUP BY o.payment_id"
    )
    return {pid: (user, plan, amount, n) for pid, user, plan, amount, n in await cur.fetchall()}


def _differs(order: tuple[str, str, int, int], payment: Payment) -> bool:
    return order[:3] != (payment.user, payment.plan, payment.amount_cents)


async def _repair(
    conn: AsyncConnection, missing: list[Payment], unentitled: list[str]
) -> tuple[list[str], list[str]]:
    """What it recorded or granted itself; and the missing orders whose callback committed
    first, mended too but not by it (their entitlement is the callback's)."""
    repaired, recorded_meanwhile = [], []
    for payment in missing:
        if (await record(conn, payment, RECONCILIATION))["recorded"]:
            repaired.append(payment.id)
        else:
            recorded_meanwhile.append(payment.id)
    for payment_id in unentitled:
        await grant(conn, payment_id)
        repaired.append(payment_id)
    return repaired, recorded_meanwhile


def _time(payment: Payment) -> datetime:
    return datetime.fromtimestamp(payment.paid_at, UTC)
