"""HTTP endpoints of an order's records: shipments (and their tracking), refunds, returns and
timeline notes. Each write answers the record; the order's statuses, quantities and amounts
follow in ``GET /orders/{id}``."""

from collections.abc import Callable
from functools import partial
from typing import Any

from fastapi import APIRouter
from sqlalchemy.orm import Session

from orderly.auth.deps import CurrentOrg
from orderly.core.db import Database, DatabaseDep
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
from orderly.orders.repository import Kind
from orderly.orders.routes._orders import IfMatch
from orderly.orders.schemas import (
    Note,
    NoteCreate,
    NoteList,
    Refund,
    RefundCreate,
    RefundList,
    Return,
    ReturnCreate,
    ReturnList,
    ReturnReceive,
    Shipment,
    ShipmentCreate,
    ShipmentList,
    ShipmentUpdate,
)

records = APIRouter(
    prefix="/api/v1",
    route_class=DecimalJSONRoute,
    responses=error_responses(Unauthorized, ValidationFailed),
)
_ON_ORDER = (MalformedBody, PayloadTooLarge, service.OrderNotFound, PreconditionFailed)


async def _write_and_show(
    database: Database, org: CurrentOrg, kind: Kind, write: Callable[[Session], str]
) -> dict[str, Any]:
    """Run ``write`` (which returns a record's id) and read the record back in the same
    transaction."""

    def unit(session: Session) -> dict[str, Any]:
        return service.record_document(session, org, kind, write(session))

    return await database.run(unit, write=True)


async def _listed(database: Database, org: CurrentOrg, order_id: str, kind: Kind) -> JSONResponse:
    found = await database.run(
        partial(service.record_documents, organization=org, order_id=order_id, kind=kind),
        write=False,
    )
    return JSONResponse({"data": found, "count": len(found)})


@records.post(
    "/orders/{order_id}/shipments",
    status_code=201,
    response_model=Shipment,
    tags=["shipments"],
    responses=error_responses(*_ON_ORDER),
)
async def create_shipment(
    database: DatabaseDep,
    org: CurrentOrg,
    order_id: str,
    body: ShipmentCreate,
    if_match: IfMatch = None,
) -> JSONResponse:
    """Ship units of an order's lines in one parcel, with carrier and tracking."""
    write = partial(
        service.create_shipment, organization=org, order_id=order_id, data=body, if_match=if_match
    )
    return JSONResponse(await _write_and_show(database, org, Kind.SHIPMENT, write), 201)


@records.get(
    "/orders/{order_id}/shipments",
    response_model=ShipmentList,
    tags=["shipments"],
    responses=error_responses(service.OrderNotFound),
)
async def list_shipments(database: DatabaseDep, org: CurrentOrg, order_id: str) -> JSONResponse:
    """An order's shipments, oldest first."""
    return await _listed(database, org, order_id, Kind.SHIPMENT)


@records.patch(
    "/shipments/{shipment_id}",
    response_model=Shipment,
    tags=["shipments"],
    responses=error_responses(MalformedBody, PayloadTooLarge, service.ShipmentNotFound),
)
async def update_shipment(
    database: DatabaseDep, org: CurrentOrg, shipment_id: str, body: ShipmentUpdate
) -> JSONResponse:
    """Change a shipment's tracking status, carrier, tracking number or times."""
    write = partial(service.update_shipment, organization=org, shipment_id=shipment_id, data=body)
    return JSONResponse(await _write_and_show(database, org, Kind.SHIPMENT, write))


@records.post(
    "/shipments/{shipment_id}/cancel",
    response_model=Shipment,
    tags=["shipments"],
    responses=error_responses(service.ShipmentNotFound),
)
async def cancel_shipment(database: DatabaseDep, org: CurrentOrg, shipment_id: str) -> JSONResponse:
    """Cancel a shipment that never left: its units count as unshipped again."""
    write = partial(service.cancel_shipment, organization=org, shipment_id=shipment_id)
    return JSONResponse(await _write_and_show(database, org, Kind.SHIPMENT, write))


@records.post(
    "/orders/{order_id}/refunds",
    status_code=201,
    response_model=Refund,
    tags=["refunds"],
    responses=error_responses(*_ON_ORDER),
)
async def create_refund(
    database: DatabaseDep,
    org: CurrentOrg,
    order_id: str,
    body: RefundCreate,
    if_match: IfMatch = None,
) -> JSONResponse:
    """Refund an amount, or lines, of a paid order: never more than is left."""
    write = partial(
        service.create_refund, organization=org, order_id=order_id, data=body, if_match=if_match
    )
    return JSONResponse(await _write_and_show(database, org, Kind.REFUND, write), 201)


@records.get(
    "/orders/{order_id}/refunds",
    response_model=RefundList,
    tags=["refunds"],
    responses=error_responses(service.OrderNotFound),
)
async def list_refunds(database: DatabaseDep, org: CurrentOrg, order_id: str) -> JSONResponse:
    """An order's refunds, oldest first."""
    return await _listed(database, org, order_id, Kind.REFUND)


@records.post(
    "/orders/{order_id}/returns",
    status_code=201,
    response_model=Return,
    tags=["returns"],
    responses=error_responses(*_ON_ORDER),
)
async def request_return(
    database: DatabaseDep,
    org: CurrentOrg,
    order_id: str,
    body: ReturnCreate,
    if_match: IfMatch = None,
) -> JSONResponse:
    """Open a return of delivered lines."""
    write = partial(
        service.request_return, organization=org, order_id=order_id, data=body, if_match=if_match
    )
    return JSONResponse(await _write_and_show(database, org, Kind.RETURN, write), 201)


@records.get(
    "/orders/{order_id}/returns",
    response_model=ReturnList,
    tags=["returns"],
    responses=error_responses(service.OrderNotFound),
)
async def list_returns(database: DatabaseDep, org: CurrentOrg, order_id: str) -> JSONResponse:
    """An order's returns, oldest first."""
    return await _listed(database, org, order_id, Kind.RETURN)


@records.post(
    "/returns/{return_id}/receive",
    response_model=Return,
    tags=["returns"],
    responses=error_responses(MalformedBody, PayloadTooLarge, service.ReturnNotFound),
)
async def receive_return(
    database: DatabaseDep, org: CurrentOrg, return_id: str, body: ReturnReceive | None = None
) -> JSONResponse:
    """Mark a return received, and optionally refund its lines in the same step."""
    write = partial(
        service.receive_return, organization=org, return_id=return_id, data=body or ReturnReceive()
    )
    return JSONResponse(await _write_and_show(database, org, Kind.RETURN, write))


@records.post(
    "/orders/{order_id}/notes",
    status_code=201,
    response_model=Note,
    tags=["notes"],
    responses=error_responses(*_ON_ORDER),
)
async def add_note(
    database: DatabaseDep,
    org: CurrentOrg,
    order_id: str,
    body: NoteCreate,
    if_match: IfMatch = None,
) -> JSONResponse:
    """Write a note on an order's timeline (up to 5,000 characters)."""
    write = partial(
        service.add_note, organization=org, order_id=order_id, data=body, if_match=if_match
    )
    return JSONResponse(await _write_and_show(database, org, Kind.NOTE, write), 201)


@records.get(
    "/orders/{order_id}/notes",
    response_model=NoteList,
    tags=["notes"],
    responses=error_responses(service.OrderNotFound),
)
async def list_notes(database: DatabaseDep, org: CurrentOrg, order_id: str) -> JSONResponse:
    """An order's timeline notes, oldest first."""
    return await _listed(database, org, order_id, Kind.NOTE)
