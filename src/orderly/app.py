"""The FastAPI application."""

import asyncio
import contextlib
import hmac
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI, Request, Response
from fastapi_offline import FastAPIOffline
from pydantic import BaseModel, Field
from sqlalchemy.exc import SQLAlchemyError
from starlette.staticfiles import StaticFiles

from orderly import __version__
from orderly.audit.routes import router as audit_router
from orderly.auth.deps import bearer_of
from orderly.core.config import get_settings
from orderly.core.db import Database, DatabaseDep, ping
from orderly.core.errors import (
    ServiceUnavailable,
    Unauthorized,
    error_responses,
    install_error_handlers,
)
from orderly.core.http import JSONResponse
from orderly.core.middleware import BodySizeLimit, SecurityHeaders
from orderly.core.ratelimit import RedisLimiter, limiter_for
from orderly.core.telemetry import (
    DATABASE_STATE,
    RequestTelemetry,
    configure_logging,
    metrics_response,
)
from orderly.events.routes import router as events_router
from orderly.export.routes import router as export_router
from orderly.idempotency.middleware import IdempotencyKeys
from orderly.idempotency.middleware import describe as describe_idempotency
from orderly.integrations.routes import router as integrations_router
from orderly.integrations.routes import webhooks as webhooks_router
from orderly.integrations.worker import SyncWorker, measure_attention
from orderly.integrations.writer import WebhookWriter
from orderly.orders.routes import router as orders_router
from orderly.web.deps import install_refusals
from orderly.web.routes import router as web_router
from orderly.webhooks.dispatcher import Dispatcher, measure_backlog
from orderly.webhooks.routes import router as webhook_endpoints_router

WEB_STATIC = Path(__file__).parent / "web" / "static"

API_DESCRIPTION = """Unified order management: create, track, update status and export orders.

Every request but `/healthz` sends `Authorization: Bearer <token>` (`orderly tokens create`);
press **Authorize** and paste the token to try requests here. Money is an exact JSON number in
the currency's precision; times are ISO 8601 in UTC. Every error answers
`{"code", "error", "details"}`.
"""

health = APIRouter(tags=["health"])


class Health(BaseModel):
    status: str = Field(examples=["ok"], description="ok, or degraded when a dependency is down")
    version: str = Field(examples=[__version__])
    checks: dict[str, str] = Field(
        examples=[{"database": "ok", "redis": "ok"}],
        description="Each dependency: ok, or down (redis only where ORDERLY_REDIS_URL is set)",
    )


_HEALTH_CHECK_S = 3  # a dependency that has not answered by then is reported down


async def _database_answers(database: Database) -> bool:
    try:
        async with asyncio.timeout(_HEALTH_CHECK_S):
            await database.run(ping, write=False)
    except (TimeoutError, SQLAlchemyError):
        DATABASE_STATE.down()
        return False
    return True


async def _checks(request: Request, database: Database) -> dict[str, str]:
    checks = {"database": "ok" if await _database_answers(database) else "down"}
    limiter = request.app.state.limiter
    if isinstance(limiter, RedisLimiter):
        checks["redis"] = "ok" if await limiter.check() else "down"
    return checks


def _health(checks: dict[str, str]) -> dict[str, Any]:
    status = "ok" if all(state == "ok" for state in checks.values()) else "degraded"
    return {"status": status, "version": __version__, "checks": checks}


@health.get("/healthz", response_model=Health)
async def healthz(request: Request, database: DatabaseDep) -> JSONResponse:
    """Liveness: 200 while the process serves, naming each dependency that is down."""
    return JSONResponse(_health(await _checks(request, database)))


@health.get("/readyz", response_model=Health, responses=error_responses(ServiceUnavailable))
async def readyz(request: Request, database: DatabaseDep) -> JSONResponse:
    """Readiness for a load balancer: 503 while the database cannot be reached (a Redis that is
    down only makes rate limits per process, so it does not take the server out)."""
    checks = await _checks(request, database)
    if checks["database"] != "ok":
        raise ServiceUnavailable(details=checks)
    return JSONResponse(_health(checks))


@health.get("/metrics", include_in_schema=False)
async def metrics(request: Request, database: DatabaseDep) -> Response:
    """Prometheus metrics of every worker process (see ``core.telemetry``); with
    ``ORDERLY_METRICS_TOKEN`` set, only for a scraper that sends it as a bearer token."""
    expected = get_settings().metrics_token
    if expected:
        sent = bearer_of(request.headers.get("authorization"))
        if not hmac.compare_digest(sent.encode(), expected.encode()):
            raise Unauthorized(details={"authorization": "Send the metrics token as a bearer"})
    # The outbound queue is counted as it stands (a database that is away leaves the last).
    with contextlib.suppress(SQLAlchemyError, TimeoutError):
        async with asyncio.timeout(_HEALTH_CHECK_S):
            await measure_backlog(database)
            await measure_attention(database)
    return metrics_response()


def _describe_middleware(app: FastAPI) -> None:
    """/openapi.json also declares what middleware adds to operations (Idempotency-Key)."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = describe_idempotency(build())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


@contextlib.asynccontextmanager
async def _dispatching(app: FastAPI) -> AsyncIterator[None]:
    """The webhook dispatcher and the platform sync worker run beside the API while the
    server serves."""
    dispatcher = Dispatcher(app.state.database) if app.state.dispatch else None
    worker = SyncWorker(app.state.database) if app.state.sync else None
    tasks = [
        asyncio.create_task(background.run())
        for background in (dispatcher, worker)
        if background is not None
    ]
    app.state.dispatcher = dispatcher
    try:
        yield
    finally:
        for background in (dispatcher, worker):
            if background is not None:
                background.stop()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, TimeoutError):
                await asyncio.wait_for(task, 15)


def create_app(
    database_url: str | None = None,
    *,
    dispatch: bool | None = None,
    sync: bool | None = None,
    **overrides: Any,
) -> FastAPI:
    """The API on ``database_url`` (default: the ``ORDERLY_DATABASE_URL`` setting), with the
    webhook dispatcher unless ``dispatch=False`` (default: ``ORDERLY_WEBHOOK_DISPATCHER``) and
    the platform sync worker unless ``sync=False`` (default: ``ORDERLY_PLATFORM_SYNC``)."""
    settings = get_settings()
    configure_logging(settings.log_format, settings.log_level)
    # /docs (Swagger UI) and /redoc load their scripts from a pinned package, served by Orderly
    # itself: they work on a host without internet.
    app = FastAPIOffline(
        title="Orderly",
        version=__version__,
        description=API_DESCRIPTION,
        default_response_class=JSONResponse,
        static_url="/docs-assets",
        # Operation ids are the endpoint functions' names: a generated client gets
        # ``list_orders`` rather than ``list_orders_api_v1_orders_get``.
        generate_unique_id_function=lambda route: route.name,
        lifespan=_dispatching,
        **overrides,
    )
    app.state.dispatch = settings.webhook_dispatcher if dispatch is None else dispatch
    app.state.sync = settings.platform_sync if sync is None else sync
    app.state.database = Database(database_url or settings.database_url)
    app.state.limiter = limiter_for(settings.redis_url)
    app.state.webhook_writer = WebhookWriter(app.state.database)
    install_error_handlers(app)
    install_refusals(app)
    app.include_router(health)
    app.include_router(audit_router)
    app.include_router(export_router)  # before orders: /orders/export is not an order id
    app.include_router(orders_router)
    app.include_router(events_router)
    app.include_router(webhook_endpoints_router)
    app.include_router(integrations_router)
    app.include_router(webhooks_router)
    app.include_router(web_router)
    app.mount("/static", StaticFiles(directory=WEB_STATIC), name="static")
    app.add_middleware(IdempotencyKeys)
    _describe_middleware(app)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(SecurityHeaders)
    app.add_middleware(RequestTelemetry)  # outermost: sees every answer, the 413s included
    return app
