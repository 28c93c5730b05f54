"""HTTP API of the reference Glancy service."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated

from fastapi import FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from redis.exceptions import RedisError

from reference import deletions, lookups
from reference.cache import ResultCache, connect_redis
from reference.config import ServiceConfig
from reference.database import Database, DatabaseUnavailable
from reference.dsn import mask

log = logging.getLogger("reference.app")

Name = Annotated[str, Query(min_length=1, max_length=200)]


class DatabaseSwitch(BaseModel):
    dsn: str = Field(min_length=1)


class ReplayRequest(BaseModel):
    since: float | None = None


def create_app(config: ServiceConfig) -> FastAPI:
    db = Database(config.database)
    redis = connect_redis(config.redis)
    cache = ResultCache(redis, config.cache_ttl_s)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await db.open()
        try:
            yield
        finally:
            await db.close()
            await redis.aclose()

    app = FastAPI(title="glancy reference service", lifespan=lifespan)
    _install_error_handlers(app)

    @app.get("/healthz")
    async def healthz() -> dict:
        return {"status": "ok"}

    @app.get("/lookup")
    async def lookup(word: Name, user: Name) -> dict:
        cached = await cache.get(word)

        async def work(conn) -> dict:
            result = cached or await lookups.result_for(conn, word)
            await lookups.record_lookup(conn, user, word)
            return result

        result = await db.run(work)
        if cached is None:
            await cache.put(word, result)
        return {**result, "source": "cache" if cached else "db"}

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
            request_id = await deletions.enqueue(redis, user, accepted_at)
            return {"deleted": deleted, "request_id": request_id}

        return await db.run(work)

    @app.post("/admin/deletions/replay")
    async def replay_deletions(body: ReplayRequest) -> dict:
        requests = await deletions.accepted_since(redis, body.since)

        async def work(conn) -> int:
            deleted = 0
            for r in requests:
                deleted += await lookups.delete_lookups(conn, r.user, r.accepted_at)
            return deleted

        deleted = await db.run(work)
        users = list(dict.fromkeys(r.user for r in requests))
        return {"replayed": len(requests), "users": users, "deleted": deleted}

    @app.get("/admin/database")
    async def get_database() -> dict:
        return {"database": db.describe()}

    @app.put("/admin/database", response_model=None)
    async def put_database(body: DatabaseSwitch) -> JSONResponse | dict:
        try:
            return {"database": await db.switch(body.dsn)}
        except ValueError as exc:
            return _error(422, "invalid_dsn", str(exc))

    return app


def _error(status: int, error: str, detail: object) -> JSONResponse:
    return JSONResponse(status_code=status, content={"error": error, "detail": detail})


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

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_: Request, exc: RequestValidationError) -> JSONResponse:
        # FastAPI's default echoes the input, which may be a DSN with its password
        problems = [{"loc": list(e.get("loc", ())), "msg": e.get("msg", "")} for e in exc.errors()]
        return _error(422, "invalid_request", problems)
