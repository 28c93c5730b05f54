"""``python -m reference.payment_standin --port P --callback URL``: a stand-in for the
third-party payment API, a fake (no third party can be reached here).

Like a provider's sandbox with automatic capture, ``POST /v1/payments`` charges at once and
answers the paid payment. It then delivers the payment to the merchant's callback URL, signed
with the secret in the environment variable PAYMENT_CALLBACK_SECRET (HMAC-SHA256 of the body
in ``X-Payment-Signature``), and delivers it again, backing off, until the merchant answers 2xx
or DELIVERY_GIVE_UP_S has passed. ``GET /v1/payments`` lists every payment it took, which is
what a merchant reconciles against. Its records live in memory: they last as long as it runs.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Literal

import httpx
from fastapi import FastAPI
from pydantic import BaseModel, Field

from reference.billing import PLANS, SIGNATURE, Payment, signature
from reference.serving import serve

SECRET_VARIABLE = "PAYMENT_CALLBACK_SECRET"
DELIVERY_TIMEOUT_S = 2.0
FIRST_RETRY_S, LONGEST_RETRY_S = 0.2, 5.0
# A merchant that acknowledges nothing for this long is left to reconcile.
DELIVERY_GIVE_UP_S = 600.0

log = logging.getLogger("reference.payment_standin")


class ChargeRequest(BaseModel):
    user: str = Field(min_length=1, max_length=200)
    plan: Literal[tuple(PLANS)]
    amount_cents: int = Field(gt=0)
    # the merchant's trace of the checkout, kept with the payment as its metadata
    trace_id: str | None = Field(default=None, max_length=200)


def create_app(callback_url: str, secret: str) -> FastAPI:
    payments: list[Payment] = []
    deliveries: set[asyncio.Task] = set()
    client = httpx.AsyncClient(timeout=httpx.Timeout(DELIVERY_TIMEOUT_S))

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        try:
            yield
        finally:
            for task in deliveries:
                task.cancel()
            await client.aclose()

    app = FastAPI(title="payment provider stand-in", lifespan=lifespan)

    async def deliver(payment: Payment) -> None:
        body = json.dumps(payment.as_json()).encode()
        headers = {"Content-Type": "application/json", SIGNATURE: signature(secret, body)}
        wait, give_up = FIRST_RETRY_S, time.monotonic() + DELIVERY_GIVE_UP_S
        while time.monotonic() < give_up:
            try:
                response = await client.post(callback_url, content=body, headers=headers)
                if response.is_success:
                    return
                problem = f"answered {response.status_code}"
            except httpx.HTTPError as exc:
                problem = f"{type(exc).__name__}: {exc}"
            log.warning("callback of %s %s; again in %.1f s", payment.id, problem, wait)
            await asyncio.sleep(wait)
            wait = min(2 * wait, LONGEST_RETRY_S)
        log.error("callback of %s not acknowledged in %.0f s", payment.id, DELIVERY_GIVE_UP_S)

    @app.get("/healthz")
    async def healthz() -> dict:
        return {"status": "ok", "payments": len(payments)}

    @app.post("/v1/payments", status_code=201)
    async def charge(body: ChargeRequest) -> dict:
        payment = Payment(
            id=f"pay_{uuid.uuid4().hex[:20]}",
            user=body.user,
            plan=body.plan,
            amount_cents=body.amount_cents,
            paid_at=time.time(),
            trace_id=body.trace_id,
        )
        payments.append(payment)
        task = asyncio.create_task(deliver(payment))
        deliveries.add(task)
        task.add_done_callback(deliveries.discard)
        return payment.as_json() | {"status": "paid"}

    @app.get("/v1/payments")
    async def list_payments() -> dict:
        return {"payments": [p.as_json() for p in payments]}

    return app


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m reference.payment_standin", description=__doc__
    )
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--callback", required=True, help="the merchant's callback URL")
    args = parser.parse_args(argv)
    secret = os.environ.get(SECRET_VARIABLE)
    if not secret:
        print(f"payment_standin: {SECRET_VARIABLE} is not set", file=sys.stderr)
        return 2
    logging.basicConfig(
        level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    serve(create_app(args.callback, secret), args.host, args.port)
    return 0


if __name__ == "__main__":
    sys.exit(main())
