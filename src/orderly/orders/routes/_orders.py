"""HTTP endpoints of the Orders API: parse, call the service, shape the answer.

Endpoints are ``async``: each waits for its turn at the database in the event loop and then
runs its whole unit of work (queries, commit) in one worker thread (``Database.run``).
Measured against sync endpoints, this saves the thread hops FastAPI makes per dependency and
lets a burst queue without holding threads (docs/performance.md).
"""

from collections.abc import Callable
from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Body, Header, Query, Response
from sqlalchemy.orm import Session

from orderly.auth.deps import CurrentOrg
from orderly.core.db import Database, DatabaseDep, utc_now
from orderly.core.errors import (
    MalformedBody,
    PayloadTooLarge,
    PreconditionFailed,
    Unauthorized,
    ValidationFailed,
    error_responses,
)
from orderly.core.http import DecimalJSONRoute, JSONResponse
from orderly.orders import service
from orderly.orders.filters import ListQuery
from orderly.orders.schemas import (
    BulkCreateItems,
    BulkDeleteRequest,
    BulkResult,
    BulkStatusRequest,
    OrderCreate,
    OrderDetail,
    OrderList,
    OrderUpdate,
    StatusUpdate,
)

router = APIRouter(
    prefix="/api/v1/orders",
    tags=["orders"],
    route_class=DecimalJSONRoute,
    responses=error_responses(Unauthorized, ValidationFailed),
)
_WITH_BODY = (MalformedBody, PayloadTooLarge)
# Optimistic concurrency: send back the ETag of the order as read; 412 if it changed since.
IfMatch = Annotated[
    str | None,
    Header(description="The order's ETag as last read; the request fails with 412 if it changed."),
]


def _order_answer(document: dict[str, Any], status_code: int = 200) -> JSONResponse:
    response = JSONResponse(document, status_code=status_code)
    response.headers["ETag"] = service.etag(document["updated"])
    return response


async def _write_and_show(
    database: Database, org: CurrentOrg, write: Callable[[Session], str]
) -> dict[str, Any]:
    """Run ``write`` (which returns an order id) and read the order back in the same
    transaction, as ``GET /orders/{id}`` shows it."""

    def unit(session: Session) -> dict[str, Any]:
        return service.get_document(session, org, write(session))

    return await database.run(unit, write=True)


def _bulk(outcome: service.BulkOutcome) -> JSONResponse:
    data: dict[str, Any] = {
        "succeeded": outcome.succeeded,
        "failed": outcome.failed,
        "errors": outcome.errors,
    }
    if outcome.ids is not None:
        data["ids"] = outcome.ids
    return JSONResponse({"success": True, "data": data, "timestamp": utc_now()})


@router.get("", response_model=OrderList)
async def list_orders(
    database: DatabaseDep, org: CurrentOrg, query: Annotated[ListQuery, Query()]
) -> JSONResponse:
    """List orders, filtered, searched, sorted and paginated."""
    page = await database.run(
        partial(service.list_orders, organization=org, query=query), write=False
    )
    return JSONResponse(
        {
            "data": page.orders,
            "count": len(page.orders),
            "total_count": page.total,
            "page": query.page,
            "limit": query.limit,
            "has_next": page.next is not None,
            "meta": {"next_cursor": page.next.encode()} if page.next else {},
        }
    )


@router.post(
    "",
    status_code=201,
    response_model=OrderDetail,
    responses=error_responses(*_WITH_BODY, service.DuplicateOrder),
)
async def create_order(database: DatabaseDep, org: CurrentOrg, body: OrderCreate) -> JSONResponse:
    """Create an order."""
    document = await _write_and_show(
        database, org, partial(service.create_order, organization=org, data=body)
    )
    return _order_answer(document, status_code=201)


@router.post("/bulk", response_model=BulkResult, responses=error_responses(*_WITH_BODY))
async def bulk_create(
    database: DatabaseDep,
    org: CurrentOrg,
    items: Annotated[
        BulkCreateItems,
        Body(
            description="Up to 1,000 order create bodies; each succeeds or fails on its own.",
            json_schema_extra={"maxItems": 1000},
        ),
    ],
) -> JSONResponse:
    """Create up to 1,000 orders; each succeeds or fails on its own."""
    return _bulk(
        await database.run(partial(service.bulk_create, organization=org, items=items), write=True)
    )


@router.patch("/bulk/status", response_model=BulkResult, responses=error_responses(*_WITH_BODY))
async def bulk_change_status(
    database: DatabaseDep, org: CurrentOrg, body: BulkStatusRequest
) -> JSONResponse:
    """Change the statuses of up to 1,000 orders; each succeeds or fails on its own."""
    outcome = await database.run(
        partial(service.bulk_change_status, organization=org, updates=body.updates), write=True
    )
    return _bulk(outcome)


@router.delete("/bulk", response_model=BulkResult, responses=error_responses(*_WITH_BODY))
async def bulk_delete(
    database: DatabaseDep, org: CurrentOrg, body: BulkDeleteRequest
) -> JSONResponse:
    """Delete up to 1,000 orders."""
    return _bulk(
        await database.run(partial(service.bulk_delete, organization=org, ids=body.ids), write=True)
    )


@router.get(
    "/{order_id}",
    response_model=OrderDetail,
    responses={
        **error_responses(service.OrderNotFound),
        304: {"description": "Not modified: If-None-Match names the order's ETag"},
    },
)
async def get_order(
    database: DatabaseDep,
    org: CurrentOrg,
    order_id: str,
    if_none_match: Annotated[str | None, Header()] = None,
) -> Response:
    """Get one order with its line items and status history."""
    document = await database.run(
        partial(service.get_document, organization=org, order_id=order_id), write=False
    )
    tag = service.etag(document["updated"])
    if if_none_match is not None and tag in {t.strip() for t in if_none_match.split(",")}:
        return Response(status_code=304, headers={"ETag": tag})
    return _order_answer(document)


@router.put(
    "/{order_id}",
    response_model=OrderDetail,
    responses=error_responses(
        *_WITH_BODY, service.OrderNotFound, service.DuplicateOrder, PreconditionFailed
    ),
)
async def replace_order(
    database: DatabaseDep,
    org: CurrentOrg,
    order_id: str,
    body: OrderUpdate,
    if_match: IfMatch = None,
) -> JSONResponse:
    """Replace an order's content; statuses left out keep their values."""
    document = await _write_and_show(
        database,
        org,
        partial(
            service.replace_order, organization=org, order_id=order_id, data=body, if_match=if_match
        ),
    )
    return _order_answer(document)


@router.patch(
    "/{order_id}/status",
    response_model=OrderDetail,
    responses=error_responses(
        *_WITH_BODY,
        service.OrderNotFound,
        ValidationFailed,
        service.InvalidTransition,
        PreconditionFailed,
    ),
)
async def change_status(
    database: DatabaseDep,
    org: CurrentOrg,
    order_id: str,
    body: StatusUpdate,
    if_match: IfMatch = None,
) -> JSONResponse:
    """Change any of status, payment_status and fulfillment_status."""
    document = await _write_and_show(
        database,
        org,
        partial(
            service.change_status, organization=org, order_id=order_id, data=body, if_match=if_match
        ),
    )
    return _order_answer(document)


@router.delete(
    "/{order_id}",
    status_code=204,
    responses=error_responses(service.OrderNotFound, PreconditionFailed),
)
async def delete_order(
    database: DatabaseDep, org: CurrentOrg, order_id: str, if_match: IfMatch = None
) -> Response:
    """Delete an order."""
    await database.run(
        partial(service.delete_order, organization=org, order_id=order_id, if_match=if_match),
        write=True,
    )
    return Response(status_code=204)
