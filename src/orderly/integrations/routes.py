"""HTTP endpoints of integrations: connections, their inbox, and the webhook receiver.

The receiver does not use ``SessionDep``: it hands each request to the process's
``WebhookWriter``, which commits deliveries that arrive together in one transaction.
"""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response

from orderly.auth.deps import CurrentOrg
from orderly.core.config import get_settings
from orderly.core.db import SessionDep
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
from orderly.integrations import service
from orderly.integrations.models import ConnectionRow, Platform
from orderly.integrations.schemas import (
    Connection,
    ConnectionCreate,
    ConnectionCreated,
    ConnectionList,
    Delivery,
    DeliveryDetail,
    DeliveryList,
    DeliveryQuery,
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
