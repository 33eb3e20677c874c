"""HTTP endpoints of integrations: connections, their inbox, and the webhook receiver.

The receiver does not use ``SessionDep``: it hands each request to the process's
``WebhookWriter``, which commits deliveries that arrive together in one transaction.
"""

import asyncio
import time
from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response

from orderly.auth.deps import CurrentOrg
from orderly.core.config import get_settings
from orderly.core.db import DatabaseDep, SessionDep
from orderly.core.errors import (
    MalformedBody,
    OrderlyError,
    PayloadTooLarge,
    RateLimited,
    Unauthorized,
    ValidationFailed,
    envelope,
    error_responses,
)
from orderly.core.http import DecimalJSONRoute, JSONResponse
from orderly.core.middleware import read_body
from orderly.core.ratelimit import Limiter, Rate
from orderly.core.telemetry import WEBHOOKS
from orderly.integrations import pushback, service, sync
from orderly.integrations.channels.client import new_http
from orderly.integrations.models import ConnectionRow, Platform, RunKind
from orderly.integrations.schemas import (
    BackfillProgress,
    BackfillStart,
    Connection,
    ConnectionCreate,
    ConnectionCreated,
    ConnectionList,
    CredentialsSet,
    Delivery,
    DeliveryDetail,
    DeliveryList,
    DeliveryQuery,
    Push,
    PushList,
    PushQuery,
    RunList,
    SyncRun,
    SyncStatus,
    WebhookReceived,
)
from orderly.integrations.writer import WebhookWriter

router = APIRouter(
    prefix="/api/v1/integrations",
    tags=["integrations"],
    route_class=DecimalJSONRoute,
    responses=error_responses(Unauthorized, ValidationFailed),
)
webhooks = APIRouter(prefix="/api/v1/webhooks", tags=["webhooks"])
_CONNECTION = error_responses(service.IntegrationNotFound)
_PLATFORMS = frozenset(Platform)
_DELIVERY = error_responses(service.IntegrationNotFound, service.DeliveryNotFound)


def request_base_url(request: Request) -> str:
    # The Host header is the client's to write: a webhook URL built from an unknown one could
    # send a merchant's platform to someone else's server.
    allowed = {host.strip().lower() for host in get_settings().allowed_hosts.split(",")}
    host = (request.url.hostname or "").lower()
    return str(request.base_url) if "*" in allowed or host in allowed else ""


BaseURL = Annotated[str, Depends(request_base_url)]


def _connection(connection: ConnectionRow, base_url: str, **extra: Any) -> dict[str, Any]:
    shape = ConnectionCreated if extra else Connection
    return shape.model_validate(
        {
            "id": connection.id,
            "platform": connection.platform,
            "name": connection.name,
            "webhook_url": service.webhook_url(connection, base_url),
            "created": connection.created,
            **extra,
        }
    ).model_dump(mode="json")


@router.post(
    "",
    status_code=201,
    response_model=ConnectionCreated,
    responses=error_responses(MalformedBody, PayloadTooLarge),
)
def create_connection(
    session: SessionDep, org: CurrentOrg, base_url: BaseURL, body: ConnectionCreate
) -> JSONResponse:
    """Connect a store of a platform; the answer holds its webhook URL and secret (shown once)."""
    new = service.create_connection(session, org, body)
    return JSONResponse(
        _connection(new.connection, base_url, secret=new.secret),
        status_code=201,
        headers={"Cache-Control": "no-store"},  # the secret must not stay in any cache
    )


@router.get("", response_model=ConnectionList)
def list_connections(session: SessionDep, org: CurrentOrg, base_url: BaseURL) -> JSONResponse:
    """List the organization's connections."""
    connections = [_connection(c, base_url) for c in service.list_connections(session, org)]
    return JSONResponse({"data": connections, "count": len(connections)})


@router.get("/{connection_id}", response_model=Connection, responses=_CONNECTION)
def get_connection(
    session: SessionDep, org: CurrentOrg, base_url: BaseURL, connection_id: str
) -> JSONResponse:
    """One connection (its secret is never shown again)."""
    return JSONResponse(_connection(service.get_connection(session, org, connection_id), base_url))


@router.delete("/{connection_id}", status_code=204, responses=_CONNECTION)
def delete_connection(session: SessionDep, org: CurrentOrg, connection_id: str) -> Response:
    """Remove a connection and its inbox; its orders stay."""
    service.delete_connection(session, org, connection_id)
    return Response(status_code=204)


@router.get("/{connection_id}/deliveries", response_model=DeliveryList, responses=_CONNECTION)
def list_deliveries(
    session: SessionDep,
    org: CurrentOrg,
    connection_id: str,
    query: Annotated[DeliveryQuery, Query()],
) -> JSONResponse:
    """The connection's webhook deliveries, newest first; filter with ``outcome=failed``."""
    page = service.list_deliveries(session, org, connection_id, query)
    return JSONResponse(
        {
            "data": [Delivery.model_validate(d).model_dump(mode="json") for d in page.deliveries],
            "count": len(page.deliveries),
            "total_count": page.total,
            "page": query.page,
            "limit": query.limit,
            "has_next": page.has_next,
        }
    )


@router.get(
    "/{connection_id}/deliveries/{delivery_id}", response_model=DeliveryDetail, responses=_DELIVERY
)
def get_delivery(
    session: SessionDep, org: CurrentOrg, connection_id: str, delivery_id: str
) -> JSONResponse:
    """One delivery with its headers and body as received."""
    delivery = service.get_delivery(session, org, connection_id, delivery_id)
    return JSONResponse(DeliveryDetail.model_validate(delivery).model_dump(mode="json"))


@router.post(
    "/{connection_id}/deliveries/{delivery_id}/replay",
    response_model=DeliveryDetail,
    responses=error_responses(
        service.IntegrationNotFound, service.DeliveryNotFound, service.NotReplayable
    ),
)
def replay_delivery(
    session: SessionDep, org: CurrentOrg, connection_id: str, delivery_id: str
) -> JSONResponse:
    """Process a stored delivery again (after a fix); it never makes a second order."""
    delivery = service.replay(session, org, connection_id, delivery_id)
    return JSONResponse(DeliveryDetail.model_validate(delivery).model_dump(mode="json"))


# ---- sync with the platform's API ------------------------------------------------------------

_SYNC = error_responses(service.IntegrationNotFound, sync.SyncNotSupported)
_WALK = error_responses(
    service.IntegrationNotFound, sync.SyncNotSupported, sync.NoCredentials, sync.SyncBusy
)
# A sync asked for while a worker walks the connection waits this long for it to end.
_BUSY_WAIT_SECONDS = 30.0


def sync_status(state: sync.SyncState) -> dict[str, Any]:
    connection = state.connection
    backfill = connection.backfill_state
    return SyncStatus(
        credentials=connection.credentials is not None,
        shown=state.shown,
        push_back=connection.push_back,
        poll_interval_seconds=connection.poll_interval_seconds,
        attention=connection.attention,
        last_poll=connection.last_poll,
        next_poll=connection.next_poll,
        cursor=(connection.poll_state or {}).get("since"),
        backfill=BackfillProgress.model_validate(backfill) if backfill else None,
        runs=[SyncRun.model_validate(run) for run in state.runs],
    ).model_dump(mode="json")


@router.put(
    "/{connection_id}/credentials",
    response_model=SyncStatus,
    responses=error_responses(
        service.IntegrationNotFound, sync.SyncNotSupported, MalformedBody, PayloadTooLarge
    ),
)
def set_credentials(
    session: SessionDep, org: CurrentOrg, connection_id: str, body: CredentialsSet
) -> JSONResponse:
    """Set the platform's API credentials (sealed; never shown again) and sync settings."""
    sync.set_credentials(session, org, connection_id, body)
    return JSONResponse(sync_status(sync.sync_state(session, org, connection_id)))


@router.delete("/{connection_id}/credentials", status_code=204, responses=_CONNECTION)
def remove_credentials(session: SessionDep, org: CurrentOrg, connection_id: str) -> Response:
    """Forget the platform credentials: polls, backfills and push back stop."""
    sync.remove_credentials(session, org, connection_id)
    return Response(status_code=204)


@router.get("/{connection_id}/sync", response_model=SyncStatus, responses=_SYNC)
def get_sync(session: SessionDep, org: CurrentOrg, connection_id: str) -> JSONResponse:
    """Where the connection's sync stands: credentials, polls, backfill, latest runs."""
    return JSONResponse(sync_status(sync.sync_state(session, org, connection_id)))


@router.post("/{connection_id}/sync", response_model=SyncRun, responses=_WALK)
async def sync_now(database: DatabaseDep, org: CurrentOrg, connection_id: str) -> JSONResponse:
    """Run one reconciliation now and answer its counts (waits for a running one first)."""
    target = await database.run(
        partial(sync.target_of, organization=org, connection_id=connection_id), write=False
    )
    deadline = time.monotonic() + _BUSY_WAIT_SECONDS
    async with new_http() as http:
        while True:
            run = await sync.walk(database, http, target, kind=RunKind.SYNC)
            if run is not None:
                return JSONResponse(SyncRun.model_validate(run).model_dump(mode="json"))
            if time.monotonic() > deadline:
                raise sync.SyncBusy(details={"id": connection_id})
            await asyncio.sleep(0.2)


@router.get("/{connection_id}/runs", response_model=RunList, responses=_CONNECTION)
def list_runs(session: SessionDep, org: CurrentOrg, connection_id: str) -> JSONResponse:
    """The connection's latest polls, syncs and backfills, newest first, with their counts."""
    runs = sync.list_runs(session, org, connection_id)
    shown = [SyncRun.model_validate(run).model_dump(mode="json") for run in runs]
    return JSONResponse({"data": shown, "count": len(shown)})


@router.post(
    "/{connection_id}/backfill",
    status_code=202,
    response_model=SyncStatus,
    responses=error_responses(
        service.IntegrationNotFound, sync.SyncNotSupported, sync.NoCredentials, MalformedBody
    ),
)
def start_backfill(
    session: SessionDep, org: CurrentOrg, connection_id: str, body: BackfillStart
) -> JSONResponse:
    """Start taking the platform's orders changed since a date; the server walks it."""
    sync.start_backfill(session, org, connection_id, body.since)
    return JSONResponse(sync_status(sync.sync_state(session, org, connection_id)), status_code=202)


@router.get("/{connection_id}/pushes", response_model=PushList, responses=_CONNECTION)
def list_pushes(
    session: SessionDep,
    org: CurrentOrg,
    connection_id: str,
    query: Annotated[PushQuery, Query()],
) -> JSONResponse:
    """Changes told (or to tell) the platform, newest first; ``state=refused`` for refusals."""
    pushes = pushback.list_pushes(
        session, org, connection_id, state=query.state, order_id=query.order_id, limit=query.limit
    )
    shown = [Push.model_validate(p).model_dump(mode="json") for p in pushes]
    return JSONResponse({"data": shown, "count": len(shown)})


@router.post(
    "/{connection_id}/pushes/{push_id}/retry",
    response_model=Push,
    responses=error_responses(
        service.IntegrationNotFound, pushback.PushNotFound, pushback.NotRetryable
    ),
)
def retry_push(
    session: SessionDep, org: CurrentOrg, connection_id: str, push_id: str
) -> JSONResponse:
    """Send a refused or failed push again."""
    push = pushback.retry(session, org, connection_id, push_id)
    return JSONResponse(Push.model_validate(push).model_dump(mode="json"))


@webhooks.post(
    "/{platform}/{connection_id}",
    response_model=WebhookReceived,
    responses=error_responses(
        Unauthorized, service.IntegrationNotFound, PayloadTooLarge, ValidationFailed, RateLimited
    ),
)
async def receive_webhook(request: Request, platform: str, connection_id: str) -> JSONResponse:
    """Receive a platform's webhook; its signature, not a bearer token, proves where it is from."""
    body = await read_body(request, service.max_body_bytes(platform))
    limiter: Limiter = request.app.state.limiter
    unverified = Rate.parse(get_settings().unverified_webhook_limit)
    bucket = f"unverified-webhooks:{connection_id}"
    throttled = await limiter.peek(bucket, unverified)
    incoming = service.Incoming(
        platform=platform,
        connection_id=connection_id,
        headers=dict(request.headers),
        body=body,
        unverified_throttled_for=0.0 if throttled.allowed else throttled.retry_after,
    )
    writer: WebhookWriter = request.app.state.webhook_writer
    received = await writer.submit(incoming)
    # Only known platforms name a metric series: a path is anyone's to make up.
    label = platform if platform in _PLATFORMS else "unknown"
    if isinstance(received, OrderlyError):
        WEBHOOKS.labels(label, "refused").inc()
        raise received
    if received is not None:
        WEBHOOKS.labels(label, received.outcome).inc()
    if received is None:
        return JSONResponse({"received": True})
    if not received.verified:
        # Stored (the refused request stays on record, cut short) and answered 401.
        await limiter.hit(bucket, unverified)
        return envelope(401, Unauthorized.message, {"signature": received.error})
    return JSONResponse({"received": True, "delivery_id": received.id, "outcome": received.outcome})
