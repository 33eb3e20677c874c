"""HTTP endpoints of the Orders API: parse, call the service, shape the answer."""

from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Response

from orderly.auth.deps import CurrentOrg
from orderly.core.db import SessionDep, utc_now
from orderly.core.http import DecimalJSONRoute, JSONResponse
from orderly.orders import service
from orderly.orders.filters import ListQuery
from orderly.orders.models import Order as OrderRow
from orderly.orders.schemas import (
    BulkDeleteRequest,
    BulkResult,
    BulkStatusRequest,
    Order,
    OrderCreate,
    OrderDetail,
    OrderList,
    OrderUpdate,
    StatusUpdate,
)

router = APIRouter(prefix="/api/v1/orders", tags=["orders"], route_class=DecimalJSONRoute)


def _detail(order: OrderRow, status_code: int = 200) -> JSONResponse:
    document = OrderDetail.model_validate(order).model_dump(by_alias=True)
    return JSONResponse(document, status_code=status_code)


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
def list_orders(
    session: SessionDep, org: CurrentOrg, query: Annotated[ListQuery, Query()]
) -> JSONResponse:
    """List orders, filtered, searched, sorted and paginated."""
    page = service.list_orders(session, org, query)
    return JSONResponse(
        {
            "data": [Order.model_validate(o).model_dump(by_alias=True) for o in page.orders],
            "count": len(page.orders),
            "total_count": page.total,
            "page": query.page,
            "limit": query.limit,
            "has_next": page.next is not None,
            "meta": {"next_cursor": page.next.encode()} if page.next else {},
        }
    )


@router.post("", status_code=201, response_model=OrderDetail)
def create_order(session: SessionDep, org: CurrentOrg, body: OrderCreate) -> JSONResponse:
    """Create an order."""
    return _detail(service.create_order(session, org, body), status_code=201)


@router.post("/bulk", response_model=BulkResult)
def bulk_create(
    session: SessionDep,
    org: CurrentOrg,
    items: Annotated[list[Any], Body(description="Up to 1,000 order create bodies.")],
) -> JSONResponse:
    """Create up to 1,000 orders; each succeeds or fails on its own."""
    return _bulk(service.bulk_create(session, org, items))


@router.patch("/bulk/status", response_model=BulkResult)
def bulk_change_status(
    session: SessionDep, org: CurrentOrg, body: BulkStatusRequest
) -> JSONResponse:
    """Change the statuses of up to 1,000 orders; each succeeds or fails on its own."""
    return _bulk(service.bulk_change_status(session, org, body.updates))


@router.delete("/bulk", response_model=BulkResult)
def bulk_delete(session: SessionDep, org: CurrentOrg, body: BulkDeleteRequest) -> JSONResponse:
    """Delete up to 1,000 orders."""
    return _bulk(service.bulk_delete(session, org, body.ids))


@router.get("/{order_id}", response_model=OrderDetail)
def get_order(session: SessionDep, org: CurrentOrg, order_id: str) -> JSONResponse:
    """Get one order with its line items and status history."""
    return _detail(service.get_order(session, org, order_id))


@router.put("/{order_id}", response_model=OrderDetail)
def replace_order(
    session: SessionDep, org: CurrentOrg, order_id: str, body: OrderUpdate
) -> JSONResponse:
    """Replace an order's content; statuses left out keep their values."""
    return _detail(service.replace_order(session, org, order_id, body))


@router.patch("/{order_id}/status", response_model=OrderDetail)
def change_status(
    session: SessionDep, org: CurrentOrg, order_id: str, body: StatusUpdate
) -> JSONResponse:
    """Change any of status, payment_status and fulfillment_status."""
    return _detail(service.change_status(session, org, order_id, body))


@router.delete("/{order_id}", status_code=204)
def delete_order(session: SessionDep, org: CurrentOrg, order_id: str) -> Response:
    """Delete an order."""
    service.delete_order(session, org, order_id)
    return Response(status_code=204)
