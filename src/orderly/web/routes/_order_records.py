"""One order's records in the dashboard: ship lines in a parcel with carrier and tracking,
move a parcel's tracking status or cancel it, refund, take a return (and receive it), and
write a note. Each form calls the API's own service; a refusal shows the order page again
with the service's own message beside the form."""

from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from orderly.core.db import SessionDep
from orderly.core.errors import OrderlyError
from orderly.orders import service as orders
from orderly.orders.schemas import (
    NoteCreate,
    RefundCreate,
    ReturnCreate,
    ReturnReceive,
    ShipmentCreate,
    ShipmentUpdate,
)
from orderly.web.deps import Form, WriterForm, history_source, not_found
from orderly.web.routes._orders import errors_of, show_order

router = APIRouter()


def _lines(form: Form, count: int) -> list[dict[str, int]]:
    """``q1``…``qN`` of the form (units per line; blank or 0: none of it)."""
    wanted = []
    for line in range(1, count + 1):
        text = form.get(f"q{line}").strip()
        if text and text != "0":
            wanted.append({"line": line, "quantity": int(text) if text.isdigit() else -1})
    return wanted


def _act(
    request: Request,
    session: Session,
    posted: WriterForm,
    order_id: str,
    form_name: str,
    act: Callable[[dict[str, Any]], Any],
) -> Response:
    """Run ``act`` with the order; back to its page, or the page again with what was wrong."""
    who = posted.who
    try:
        order = orders.get_document(session, who.organization, order_id)
        act(order)
    except (orders.OrderNotFound, orders.ShipmentNotFound, orders.ReturnNotFound):
        raise not_found(request, who) from None
    except (ValidationError, OrderlyError) as exc:
        return show_order(
            request, session, who, order_id, problems={form_name: errors_of(exc)}, status_code=422
        )
    return RedirectResponse(f"/orders/{order_id}", status_code=303)


@router.post("/orders/{order_id}/ship")
async def ship(
    request: Request, order_id: str, session: SessionDep, posted: WriterForm
) -> Response:
    """Ship the units entered per line in one parcel."""
    form = posted.form

    def act(order: dict[str, Any]) -> None:
        body = ShipmentCreate.model_validate(
            {
                "lines": _lines(form, len(order["products"])),
                "carrier": form.get("carrier").strip() or None,
                "tracking_number": form.get("tracking_number").strip() or None,
            }
        )
        orders.create_shipment(
            session,
            posted.who.organization,
            order_id,
            body,
            change_source=history_source(posted.who),
        )

    return _act(request, session, posted, order_id, "ship", act)


@router.post("/orders/{order_id}/shipments/{shipment_id}")
async def track(
    request: Request, order_id: str, shipment_id: str, session: SessionDep, posted: WriterForm
) -> Response:
    """A parcel's new tracking status, or its cancellation."""
    form, who = posted.form, posted.who

    def act(order: dict[str, Any]) -> None:
        if shipment_id not in {s["id"] for s in order["shipments"]}:
            raise orders.ShipmentNotFound()
        if form.get("status") == "cancelled":
            orders.cancel_shipment(
                session, who.organization, shipment_id, change_source=history_source(who)
            )
            return
        body = ShipmentUpdate.model_validate({"status": form.get("status")})
        orders.update_shipment(
            session, who.organization, shipment_id, body, change_source=history_source(who)
        )

    return _act(request, session, posted, order_id, f"shipment-{shipment_id}", act)


def _amount(text: str) -> Decimal | None:
    text = text.strip().replace(",", ".")
    if not text:
        return None
    try:
        return Decimal(text)
    except InvalidOperation:
        return Decimal(-1)  # refused by the schema, with its message


@router.post("/orders/{order_id}/refund")
async def refund(
    request: Request, order_id: str, session: SessionDep, posted: WriterForm
) -> Response:
    """Refund an amount, or the units entered per line."""
    form, who = posted.form, posted.who

    def act(order: dict[str, Any]) -> None:
        body = RefundCreate.model_validate(
            {
                "amount": _amount(form.get("amount")),
                "lines": _lines(form, len(order["products"])) or None,
                "reason": form.get("reason").strip() or None,
                "restock": form.get("restock") == "on",
            }
        )
        orders.create_refund(
            session, who.organization, order_id, body, change_source=history_source(who)
        )

    return _act(request, session, posted, order_id, "refund", act)


@router.post("/orders/{order_id}/return")
async def take_return(
    request: Request, order_id: str, session: SessionDep, posted: WriterForm
) -> Response:
    """Open a return of the units entered per line."""
    form, who = posted.form, posted.who

    def act(order: dict[str, Any]) -> None:
        body = ReturnCreate.model_validate(
            {
                "lines": _lines(form, len(order["products"])),
                "reason": form.get("reason").strip() or None,
            }
        )
        orders.request_return(
            session, who.organization, order_id, body, change_source=history_source(who)
        )

    return _act(request, session, posted, order_id, "return", act)


@router.post("/orders/{order_id}/returns/{return_id}/receive")
async def receive(
    request: Request, order_id: str, return_id: str, session: SessionDep, posted: WriterForm
) -> Response:
    """The return arrived; with "refund" ticked, its lines are refunded too."""
    form, who = posted.form, posted.who

    def act(order: dict[str, Any]) -> None:
        if return_id not in {r["id"] for r in order["returns"]}:
            raise orders.ReturnNotFound()
        body = ReturnReceive.model_validate({"refund": form.get("refund") == "on"})
        orders.receive_return(
            session, who.organization, return_id, body, change_source=history_source(who)
        )

    return _act(request, session, posted, order_id, f"return-{return_id}", act)


@router.post("/orders/{order_id}/note")
async def note(
    request: Request, order_id: str, session: SessionDep, posted: WriterForm
) -> Response:
    """A note on the order's timeline."""
    form, who = posted.form, posted.who

    def act(order: dict[str, Any]) -> None:
        orders.add_note(
            session,
            who.organization,
            order_id,
            NoteCreate.model_validate({"text": form.get("text")}),
        )

    return _act(request, session, posted, order_id, "note", act)
