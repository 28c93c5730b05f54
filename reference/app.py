"""HTTP API of the reference Glancy service.

With an ``llm`` section, lookups are enriched by Doubao behind a circuit breaker and fall
back to the basic result (HTTP 200, ``"degraded": true``) when it cannot answer. A user's
lookups beyond their daily quota answer 429 ``quota_exceeded`` (see reference.quota). With an
``exports`` section, ``/exports`` queues export tasks for the export worker (see
reference.exports). With a ``billing`` section, ``/billing`` checks out through the payment
provider and takes its callbacks (see reference.billing). Endpoints under /admin are operator
and drill controls, not for end users.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Literal

from fastapi import FastAPI, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from redis.exceptions import RedisError

from reference import billing, deletions, exports, lookups, results, tracing
from reference.artifacts import download_link, s3_client
from reference.budget import DISABLED, Budget
from reference.cache import RedisEndpoint, ResultCache
from reference.config import ServiceConfig
from reference.config_check import ConfigCheck
from reference.database import Database, DatabaseUnavailable
from reference.dsn import mask
from reference.llm import Completion, LlmClient, LlmFailure
from reference.metrics import ServiceMetrics
from reference.quota import Quota, QuotaExceeded
from reference.tracing import TRACE_HEADER, trace_id

log = logging.getLogger("reference.app")
# Prometheus waits a scrape interval (1 s on the embedded stack) for /metrics.
CONSUMER_LAG_TIMEOUT_S = 0.3

Name = Annotated[str, Query(min_length=1, max_length=200)]


class DatabaseSwitch(BaseModel):
    dsn: str = Field(min_length=1)


class RedisSwitch(BaseModel):
    url: str = Field(min_length=1)


class CacheMode(BaseModel):
    force_l2: bool


class ReplayRequest(BaseModel):
    since: float | None = None


class ExportRequest(BaseModel):
    user: str = Field(min_length=1, max_length=200)
    kind: Literal[exports.KINDS] = "history"


class SpendRequest(BaseModel):
    tokens: int = Field(gt=0, le=1_000_000_000)


class CheckoutRequest(BaseModel):
    user: str = Field(min_length=1, max_length=200)
    plan: Literal[tuple(billing.PLANS)] = "monthly"


class ReconcileRequest(BaseModel):
    repair: bool = True


def _example_prompt(word: str) -> str:
    return f"Write one short example sentence using the word '{word}'."


def _regenerate_prompt(word: str) -> str:
    return f"Write a fresh example sentence using the word '{word}', unlike the usual one."


def create_app(config: ServiceConfig, published: Path | None = None) -> FastAPI:
    """The service on `config`; with `published`, the file its configuration is published in,
    which it checks every `config.config_check_s` (reference.config_check)."""
    db = Database(config.database)
    redis = RedisEndpoint(config.redis)
    cache = ResultCache(redis, config.cache_ttl_s, config.l1_cache_ttl_s, config.force_l2)
    budget = Budget(config.budget, db, redis)
    quota = Quota(config.quota, db, redis)
    llm = LlmClient(config.llm) if config.llm else None
    # only download links are made with it: the service never waits on object storage
    storage = s3_client(config.exports) if config.exports else None
    provider = billing.Provider(config.billing) if config.billing else None
    metrics = ServiceMetrics(cache)
    config_check = ConfigCheck(published) if published else None
    if config_check:
        metrics.registry.register(config_check)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await db.open()
        checking = (
            asyncio.create_task(config_check.run(config.config_check_s)) if config_check else None
        )
        try:
            yield
        finally:
            if checking:
                checking.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await checking
            await db.close()
            await redis.client.aclose()
            if llm:
                await llm.aclose()
            if provider:
                await provider.aclose()

    app = FastAPI(title="glancy reference service", lifespan=lifespan)
    _install_error_handlers(app)

    @app.middleware("http")
    async def measured(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        """Every request but the scrapes counted and timed, and given a trace id."""
        if request.url.path == "/metrics":
            return await call_next(request)
        trace, started = trace_id(request.headers.get("traceparent")), time.perf_counter()
        tracing.current.set(trace)
        status = 500  # an exception escaping every handler is answered 500
        try:
            response = await call_next(request)
            status = response.status_code
        finally:
            route = request.scope.get("route")
            endpoint = route.path if route is not None else "unmatched"
            metrics.observe(endpoint, request.method, status, time.perf_counter() - started, trace)
        response.headers[TRACE_HEADER] = trace
        return response

    @app.middleware("http")
    async def state_headers(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        response = await call_next(request)
        # the last state seen (every recorded usage and budget read refreshes it): no I/O here
        if state := budget.known_state:
            response.headers["X-Budget-State"] = state
        # which region answered: behind a front door that follows DNS, clients cannot tell
        if config.region:
            response.headers["X-Region"] = config.region
        return response

    async def complete(prompt: str) -> Completion | str:
        """The completion, or the reason there is none."""
        try:
            return await llm.complete(prompt)
        except LlmFailure as exc:
            return exc.reason

    @app.get("/metrics")
    async def get_metrics() -> Response:
        # bounded well inside a scrape's timeout: Redis away must not cost the other metrics
        reader = redis.connect()
        try:
            lag = await asyncio.wait_for(
                exports.consumer_lag(reader, time.time()), CONSUMER_LAG_TIMEOUT_S
            )
        except (RedisError, TimeoutError) as exc:
            log.warning("export consumer lag not read: %s", str(exc) or "timed out")
            lag = None
        finally:
            await reader.aclose()
        metrics.consumer_lag.lag = lag
        body, content_type = metrics.exposition()
        return Response(body, media_type=content_type)

    @app.get("/healthz")
    async def healthz() -> dict:
        return {"status": "ok", "version": config.version, "region": config.region}

    @app.get("/lookup")
    async def lookup(word: Name, user: Name) -> dict:
        # refused before anything is spent on it; the reservation is kept once served
        admission = await quota.admit(user)
        cached = await cache.get(word)
        # the LLM answers before the transaction starts, so no pooled connection waits on it
        # and its token usage commits together with the lookup
        outcome = await complete(_example_prompt(word)) if llm else None
        completion = outcome if isinstance(outcome, Completion) else None
        usage = budget.usage(completion.total_tokens, "lookup") if completion else None

        async def work(conn) -> dict:
            result = cached.result if cached else await lookups.result_for(conn, word)
            await lookups.record_lookup(conn, user, word)
            if usage:
                await budget.insert(conn, usage)
            return result

        try:
            result = await db.run(work)
        except Exception:
            await quota.release(admission)
            raise
        metrics.history_writes.written()
        if usage:
            await budget.counted(usage)
        if cached is None:
            await cache.put(word, result)
        if isinstance(outcome, str):
            return results.degraded_result(word, outcome)
        answer = {**result, "source": cached.tier if cached else "db"}
        if completion:
            answer |= {"ai_example": completion.content, "degraded": False}
        if config.version == "v2":
            # The deliberate contract break of v2 (the June drill's bad release): clients
            # read `definition`, v2 answers `meaning`. Only the response changes, so the
            # cache and the database keep v1's shape and a rollback needs no data fix.
            answer["meaning"] = answer.pop("definition")
        return answer

    @app.post("/regenerate", response_model=None)
    async def regenerate(word: Name, user: Name) -> JSONResponse | dict:
        """A fresh example from the LLM; no degraded mode, so 503 when the LLM cannot answer."""
        if llm is None:
            return _error(503, "llm_unavailable", "no llm configured")
        status = await budget.status()
        if status.state == DISABLED:
            detail = (
                f"monthly LLM budget at {int(status.used_pct)}%"
                f" (disable at {status.disable_pct:g}%)"
            )
            return _error(429, "regenerate_disabled", detail)
        outcome = await complete(_regenerate_prompt(word))
        if isinstance(outcome, str):
            return _error(503, "llm_unavailable", outcome)
        await budget.spend(outcome.total_tokens, "regenerate")
        return {"word": word, "user": user, "ai_example": outcome.content}

    @app.get("/history")
    async def history(user: Name, limit: Annotated[int, Query(ge=1, le=1000)] = 50) -> dict:
        items = await db.run(lambda conn: lookups.history(conn, user, limit))
        return {"user": user, "items": items}

    @app.delete("/history")
    async def delete_history(user: Name) -> dict:
        accepted_at = time.time()

        async def work(conn) -> dict:
            deleted = await lookups.delete_lookups(conn, user, accepted_at)
            # queued before the commit: a deletion that cannot be replayed is not accepted
            request_id = await deletions.enqueue(redis.client, user, accepted_at)
            return {"deleted": deleted, "request_id": request_id}

        return await db.run(work)

    @app.post("/admin/deletions/replay")
    async def replay_deletions(body: ReplayRequest) -> dict:
        requests = await deletions.accepted_since(redis.client, body.since)

        async def work(conn) -> int:
            deleted = 0
            for r in requests:
                deleted += await lookups.delete_lookups(conn, r.user, r.accepted_at)
            return deleted

        deleted = await db.run(work)
        users = list(dict.fromkeys(r.user for r in requests))
        return {"replayed": len(requests), "users": users, "deleted": deleted}

    @app.post("/exports", status_code=202, response_model=None)
    async def create_export(body: ExportRequest) -> JSONResponse | dict:
        """Record and queue the task, nothing more: rendering is the export worker's."""
        if config.exports is None:
            return _no_exports()
        return await exports.create(db, redis.client, body.user, body.kind)

    @app.get("/exports/{task_id}", response_model=None)
    async def get_export(task_id: str) -> JSONResponse | dict:
        if config.exports is None:
            return _no_exports()
        task = await exports.status(db, task_id)
        if task is None:
            return _error(404, "export_not_found", task_id)
        if task["status"] == "done":
            cfg = config.exports
            link = download_link(
                storage, cfg.bucket, task["object_key"], task["version_id"], cfg.link_ttl_s
            )
            task |= {"download_url": link, "download_expires_in_s": cfg.link_ttl_s}
        return task

    @app.post("/admin/exports/replay", response_model=None)
    async def replay_exports() -> JSONResponse | dict:
        """Re-enqueue the failed and interrupted export tasks from the latest queue snapshot."""
        if config.exports is None:
            return _no_exports()
        try:
            return await exports.replay(db, redis.client, config.exports.replay_min_idle_s)
        except exports.NoSnapshot as exc:
            return _error(409, "no_snapshot", str(exc))

    @app.post("/billing/checkout", status_code=201, response_model=None)
    async def checkout(body: CheckoutRequest) -> JSONResponse | dict:
        """Charged by the provider, which calls back to record the order: nothing is written
        here, so a checkout is answered while the database is away."""
        if provider is None:
            return _no_billing()
        try:
            payment = await provider.charge(body.user, body.plan, tracing.current.get())
        except billing.ProviderUnavailable as exc:
            return _error(503, "payment_provider_unavailable", str(exc))
        return {"payment_id": payment.id, "status": "paid", **payment.as_json()}

    @app.post("/billing/callback", response_model=None)
    async def payment_callback(request: Request) -> JSONResponse | dict:
        """The provider's notice of a paid payment: its order and entitlement, once."""
        if config.billing is None:
            return _no_billing()
        raw = await request.body()
        if not billing.signed_by(
            config.billing.callback_secret, raw, request.headers.get(billing.SIGNATURE)
        ):
            return _error(401, "bad_signature", f"{billing.SIGNATURE} does not match the body")
        try:
            payment = billing.Payment.from_json(json.loads(raw))
        except (ValueError, billing.InvalidPayment) as exc:
            return _error(422, "invalid_payment", str(exc))
        recorded = await db.run(lambda conn: billing.record(conn, payment, billing.CALLBACK))
        if recorded["recorded"]:
            metrics.billing.entitled([payment], time.time())
        return recorded

    @app.post("/admin/billing/reconcile", response_model=None)
    async def reconcile_billing(body: ReconcileRequest) -> JSONResponse | dict:
        """The reconciliation job: the provider's records against orders and entitlements."""
        if provider is None:
            return _no_billing()
        try:
            reconciliation = await billing.reconcile(db, provider, body.repair)
        except billing.ProviderUnavailable as exc:
            return _error(503, "payment_provider_unavailable", str(exc))
        metrics.billing.reconciled(reconciliation, time.time())
        return reconciliation.report

    @app.get("/admin/llm", response_model=None)
    async def get_llm() -> JSONResponse | dict:
        if llm is None:
            return _error(404, "llm_not_configured", "the config has no 'llm' section")
        return llm.breaker.snapshot()

    @app.get("/admin/budget")
    async def get_budget() -> dict:
        return (await budget.status()).as_dict()

    @app.post("/admin/budget/spend")
    async def spend_budget(body: SpendRequest) -> dict:
        """Record usage without calling the LLM: drills drive spend to 80 %/95 % with it."""
        return (await budget.spend(body.tokens, "admin")).as_dict()

    @app.delete("/admin/budget/spend")
    async def refund_budget() -> dict:
        """Take back this month's admin-recorded usage: how a drill's spend is reverted."""
        return (await budget.refund("admin")).as_dict()

    @app.get("/admin/database")
    async def get_database() -> dict:
        return {"database": db.describe()}

    @app.put("/admin/database", response_model=None)
    async def put_database(body: DatabaseSwitch) -> JSONResponse | dict:
        try:
            return {"database": await db.switch(body.dsn)}
        except ValueError as exc:
            return _error(422, "invalid_dsn", str(exc))

    @app.get("/admin/redis")
    async def get_redis() -> dict:
        return {"redis": redis.describe()}

    @app.put("/admin/redis", response_model=None)
    async def put_redis(body: RedisSwitch) -> JSONResponse | dict:
        """Point the service at another Redis node (a promoted replica); 503 if unreachable."""
        try:
            return {"redis": await redis.switch(body.url)}
        except ValueError as exc:
            return _error(422, "invalid_url", str(exc))

    @app.get("/admin/cache/stats")
    async def get_cache_stats() -> dict:
        """This process's result-cache reads: hits, misses and unavailable since `since`."""
        return cache.stats()

    @app.get("/admin/cache/mode")
    async def get_cache_mode() -> dict:
        return cache.mode()

    @app.put("/admin/cache/mode")
    async def put_cache_mode(body: CacheMode) -> dict:
        """Force L2 (runbook 5.1 step 3, 强制 L2: the L1 emptied and bypassed) or lift it."""
        return cache.force(body.force_l2)

    @app.get("/admin/quota")
    async def get_quota(user: Name) -> dict:
        return await quota.state(user)

    @app.post("/admin/quota/recompute")
    async def recompute_quota() -> dict:
        """The compensation job: today's quota counters rebuilt from PostgreSQL."""
        return await quota.recompute()

    return app


def _error(status: int, error: str, detail: object) -> JSONResponse:
    return JSONResponse(status_code=status, content={"error": error, "detail": detail})


def _no_exports() -> JSONResponse:
    return _error(404, "exports_not_configured", "the config has no 'exports' section")


def _no_billing() -> JSONResponse:
    return _error(404, "billing_not_configured", "the config has no 'billing' section")


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(DatabaseUnavailable)
    async def database_unavailable(request: Request, exc: DatabaseUnavailable) -> JSONResponse:
        log.warning("%s %s: database unavailable: %s", request.method, request.url.path, exc)
        return _error(503, "database_unavailable", str(exc))

    @app.exception_handler(RedisError)
    async def redis_unavailable(request: Request, exc: RedisError) -> JSONResponse:
        detail = mask(f"{type(exc).__name__}: {exc}")
        log.warning("%s %s: redis unavailable: %s", request.method, request.url.path, detail)
        return _error(503, "redis_unavailable", detail)

    @app.exception_handler(QuotaExceeded)
    async def quota_exceeded(_: Request, exc: QuotaExceeded) -> JSONResponse:
        return _error(429, "quota_exceeded", str(exc))

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_: Request, exc: RequestValidationError) -> JSONResponse:
        # FastAPI's default echoes the input, which may be a DSN with its password
        problems = [{"loc": list(e.get("loc", ())), "msg": e.get("msg", "")} for e in exc.errors()]
        return _error(422, "invalid_request", problems)
