"""HTTP endpoints of outbound webhooks: endpoints, their delivery log, retries and resends."""

from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response

from orderly.auth.deps import CurrentOrg
from orderly.core.db import DatabaseDep, SessionDep
from orderly.core.errors import (
    MalformedBody,
    PayloadTooLarge,
    Unauthorized,
    ValidationFailed,
    error_responses,
)
from orderly.core.http import DecimalJSONRoute, JSONResponse
from orderly.webhooks import service
from orderly.webhooks.models import WebhookEndpointRow
from orderly.webhooks.schemas import (
    Attempt,
    Delivery,
    DeliveryList,
    DeliveryQuery,
    Endpoint,
    EndpointCreate,
    EndpointCreated,
    EndpointList,
    EndpointUpdate,
    Queued,
    Resend,
    TestResult,
    endpoint_fields,
)

router = APIRouter(
    prefix="/api/v1/webhook-endpoints",
    tags=["webhook endpoints"],
    route_class=DecimalJSONRoute,
    responses=error_responses(Unauthorized, ValidationFailed),
)
_ENDPOINT = error_responses(service.EndpointNotFound)
_WITH_BODY = error_responses(service.EndpointNotFound, MalformedBody, PayloadTooLarge)
_NO_STORE = {"Cache-Control": "no-store"}  # a secret must not stay in any cache


def _endpoints(
    session: Any, org: Any, endpoints: list[WebhookEndpointRow], **extra: Any
) -> list[dict[str, Any]]:
    health = service.health(session, org, endpoints)
    shape = EndpointCreated if extra else Endpoint
    return [
        shape.model_validate(
            {**endpoint_fields(endpoint), "health": health[endpoint.id], **extra}
        ).model_dump(mode="json")
        for endpoint in endpoints
    ]


@router.post(
    "",
    status_code=201,
    response_model=EndpointCreated,
    responses=error_responses(MalformedBody, PayloadTooLarge),
)
def create_endpoint(session: SessionDep, org: CurrentOrg, body: EndpointCreate) -> JSONResponse:
    """Register a URL for events; the answer holds its signing secret (shown once)."""
    new = service.create_endpoint(session, org, body)
    shown = _endpoints(session, org, [new.endpoint], secret=new.secret)[0]
    return JSONResponse(shown, status_code=201, headers=_NO_STORE)


@router.get("", response_model=EndpointList)
def list_endpoints(session: SessionDep, org: CurrentOrg) -> JSONResponse:
    """The organization's webhook endpoints, each with its health over the last 24 hours."""
    shown = _endpoints(session, org, list(service.list_endpoints(session, org)))
    return JSONResponse({"data": shown, "count": len(shown)})


@router.get("/{endpoint_id}", response_model=Endpoint, responses=_ENDPOINT)
def get_endpoint(session: SessionDep, org: CurrentOrg, endpoint_id: str) -> JSONResponse:
    """One endpoint (its secret is never shown again)."""
    endpoint = service.get_endpoint(session, org, endpoint_id)
    return JSONResponse(_endpoints(session, org, [endpoint])[0])


@router.patch("/{endpoint_id}", response_model=Endpoint, responses=_WITH_BODY)
def update_endpoint(
    session: SessionDep, org: CurrentOrg, endpoint_id: str, body: EndpointUpdate
) -> JSONResponse:
    """Change an endpoint's URL, events, description, or pause and resume it (enabled)."""
    endpoint = service.update_endpoint(session, org, endpoint_id, body)
    return JSONResponse(_endpoints(session, org, [endpoint])[0])


@router.delete("/{endpoint_id}", status_code=204, responses=_ENDPOINT)
def delete_endpoint(session: SessionDep, org: CurrentOrg, endpoint_id: str) -> Response:
    """Remove an endpoint and its delivery log."""
    service.delete_endpoint(session, org, endpoint_id)
    return Response(status_code=204)


@router.post("/{endpoint_id}/rotate-secret", response_model=EndpointCreated, responses=_ENDPOINT)
def rotate_secret(session: SessionDep, org: CurrentOrg, endpoint_id: str) -> JSONResponse:
    """A new signing secret (shown once), used from the next attempt on."""
    new = service.rotate_secret(session, org, endpoint_id)
    shown = _endpoints(session, org, [new.endpoint], secret=new.secret)[0]
    return JSONResponse(shown, headers=_NO_STORE)


@router.post("/{endpoint_id}/test", response_model=TestResult, responses=_ENDPOINT)
async def send_test_message(
    database: DatabaseDep, org: CurrentOrg, endpoint_id: str
) -> JSONResponse:
    """Send a signed webhook.test message now and show what the endpoint answered."""
    url, secret = await database.run(
        partial(service.destination, organization=org, endpoint_id=endpoint_id), write=False
    )
    answer = await service.send_test(url, secret)
    return JSONResponse(
        {
            "delivered": answer.delivered,
            "status_code": answer.status_code,
            "duration_ms": answer.duration_ms,
            "response": answer.response,
            "error": answer.error,
        }
    )


@router.get("/{endpoint_id}/deliveries", response_model=DeliveryList, responses=_ENDPOINT)
def list_webhook_deliveries(
    session: SessionDep,
    org: CurrentOrg,
    endpoint_id: str,
    query: Annotated[DeliveryQuery, Query()],
) -> JSONResponse:
    """The endpoint's deliveries, newest first, each with every attempt; filter by state."""
    page = service.list_deliveries(
        session,
        org,
        endpoint_id,
        query.state.value if query.state else None,
        page=query.page,
        limit=query.limit,
    )
    return JSONResponse(
        {
            "data": [_delivery(d, page.attempts[d.id]) for d in page.deliveries],
            "count": len(page.deliveries),
            "total_count": page.total,
            "page": query.page,
            "limit": query.limit,
            "has_next": query.page * query.limit < page.total,
        }
    )


def _delivery(delivery: Any, attempts: list[Any]) -> dict[str, Any]:
    return Delivery.model_validate(
        {
            "id": delivery.id,
            "event_id": delivery.event_id,
            "event_type": delivery.event_type,
            "event_sequence": delivery.event_sequence,
            "order_id": delivery.order_id,
            "state": delivery.state,
            "attempts": delivery.attempts,
            "created": delivery.created,
            "next_attempt_at": delivery.next_attempt_at if delivery.state == "pending" else None,
            "finished": delivery.finished,
            "attempt_log": [Attempt.model_validate(a, from_attributes=True) for a in attempts],
        }
    ).model_dump(mode="json")


@router.post(
    "/{endpoint_id}/deliveries/{delivery_id}/retry",
    status_code=202,
    response_model=Delivery,
    responses=error_responses(
        service.EndpointNotFound, service.WebhookDeliveryNotFound, service.EndpointDisabled
    ),
)
def retry_webhook_delivery(
    session: SessionDep, org: CurrentOrg, endpoint_id: str, delivery_id: str
) -> JSONResponse:
    """Send a delivery again now (delivered or failed ones too)."""
    delivery = service.retry(session, org, endpoint_id, delivery_id)
    attempts = service.attempts_of(session, org, delivery.id)
    return JSONResponse(_delivery(delivery, attempts), status_code=202)


@router.post(
    "/{endpoint_id}/resend",
    status_code=202,
    response_model=Queued,
    responses=error_responses(
        service.EndpointNotFound, service.EndpointDisabled, MalformedBody, PayloadTooLarge
    ),
)
def resend_events(
    session: SessionDep, org: CurrentOrg, endpoint_id: str, body: Resend
) -> JSONResponse:
    """Send every kept event since a time again, in order (for an endpoint that was down)."""
    queued = service.resend(session, org, endpoint_id, body.since)
    return JSONResponse({"queued": queued}, status_code=202)
