"""The orders pages: the list (tabs with live counts, filters, search, sortable columns, keyset
pages, every view a URL), bulk status changes and deletes of selected rows, one order with
the moves its statuses allow, manual entry and editing, and the export of a view.

They call the API's own services (``orders.service`` with the same ``ListQuery``), so a page
can do nothing the API would refuse.
"""

from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from orderly.auth import users
from orderly.core.db import SessionDep
from orderly.core.errors import OrderlyError, validation_details
from orderly.export.routes import stream_export
from orderly.export.schemas import ExportQuery
from orderly.integrations import pushback
from orderly.integrations import service as integrations
from orderly.orders import carriers, progress, statuses
from orderly.orders import service as orders
from orderly.orders.filters import ListQuery
from orderly.orders.schemas import OrderCreate, OrderUpdate, StatusUpdate
from orderly.orders.statuses import (
    FulfillmentStatus,
    OrderStatus,
    PaymentStatus,
    ShipmentStatus,
    StatusField,
)
from orderly.web.deps import (
    ORDER_WRITERS,
    OWNERS,
    AnyonePage,
    Form,
    WriterForm,
    WriterPage,
    history_source,
    language,
    local_path,
    may,
    not_found,
)
from orderly.web.pages import exact, render

router = APIRouter()
# Columns that sort ascending on their first click; the others (times, money) newest or
# largest first, as people look at them.
_ASCENDING_FIRST = frozenset({"customer_name", "status"})
_PAGE_KEYS = ("page", "limit", "cursor")


def _channels(held: list[str], chosen: str | None) -> list[str]:
    """The organization's channels to filter by, and the one in the address (which may hold
    none now, or several, comma-separated) so that the view says what it shows."""
    return held if not chosen or chosen in held else [*held, chosen]


def _view_filters(params: dict[str, str]) -> dict[str, str]:
    """The view's filters and sort, without its page (an export takes every matching order)."""
    return {k: v for k, v in params.items() if k not in _PAGE_KEYS and v != ""}


def _sort_url(params: dict[str, str], field: str) -> str:
    current = params.get("sort", "-created")
    if current.removeprefix("-") == field:
        sort = field if current.startswith("-") else f"-{field}"
    else:
        sort = field if field in _ASCENDING_FIRST else f"-{field}"
    return "/?" + urlencode({**_view_filters(params), "sort": sort})


def _tab_url(view: dict[str, str], status: str) -> str:
    """A status tab keeps the view's other filters and its sort."""
    others = {k: v for k, v in view.items() if k != "status"}
    return "/?" + urlencode({**others, "status": status} if status else others)


@router.get("/")
def orders_page(request: Request, session: SessionDep, who: AnyonePage) -> Response:
    """The orders list: every view is its URL (filters, search, sort, cursor)."""
    params = {k: v for k, v in request.query_params.items() if v != ""}
    invalid = None
    try:
        query = ListQuery.model_validate(params)
    except ValidationError as exc:
        # A hand-edited URL shows every order and says which parameter was not understood.
        invalid = ", ".join(sorted(validation_details(exc.errors())))
        params, query = {}, ListQuery()
    page = orders.list_orders(session, who.organization, query)
    next_url = None
    if page.next is not None:
        next_url = "/?" + urlencode({**params, "cursor": page.next.encode(), "page": "1"})
    view = _view_filters(params)
    return render(
        request,
        "orders.html",
        language(request, who),
        who=who,
        orders=page.orders,
        total=page.total,
        counts=orders.counts_by_status(session, who.organization),
        channels=_channels(orders.channels(session, who.organization), params.get("source")),
        statuses=[s.value for s in OrderStatus],
        payment_statuses=[s.value for s in PaymentStatus],
        fulfillment_statuses=[s.value for s in FulfillmentStatus],
        moves={
            order["id"]: statuses.next_statuses(StatusField.STATUS, order["status"])
            for order in page.orders
        },
        may_change=may(who, ORDER_WRITERS),
        params=params,
        invalid=invalid,
        sort=query.sort,
        sort_url=lambda field: _sort_url(params, field),
        next_url=next_url,
        here="/?" + urlencode(view) if view else "/",
        tab_url=lambda status: _tab_url(view, status),
        export_url=lambda format: "/export?" + urlencode({**view, "format": format}),
    )


def _with_notice(back: str, **notice: int) -> str:
    return back + ("&" if "?" in back else "?") + urlencode(notice)


def _selected(form: Form) -> list[tuple[str, str | None]]:
    """The ticked rows: ``<id>@<updated as listed>`` each (the time lets a row that changed
    since the page was shown fail alone instead of being moved blindly)."""
    selected = []
    for value in form.all("ids")[: orders.MAX_BULK_ITEMS]:
        order_id, _, updated = value.partition("@")
        selected.append((order_id, updated or None))
    return selected


@router.post("/orders/bulk")
async def bulk_action(request: Request, session: SessionDep, posted: WriterForm) -> Response:
    """Move the ticked orders to one status, or delete them (after a confirmation page)."""
    who, form = posted.who, posted.form
    selected = _selected(form)
    back = local_path(form.get("back", "/"))
    if not selected:
        return RedirectResponse(back, status_code=303)
    if form.get("action") == "delete":
        if form.get("confirmed") != "yes":
            return render(
                request,
                "confirm_delete.html",
                language(request, who),
                who=who,
                ids=form.all("ids")[: orders.MAX_BULK_ITEMS],
                count=len(selected),
                back=back,
            )
        outcome = orders.bulk_delete(session, who.organization, [i for i, _ in selected])
        return RedirectResponse(
            _with_notice(back, deleted=outcome.succeeded, failed=len(outcome.errors)), 303
        )
    updates = [
        {"id": order_id, "status": form.get("to"), "updated": updated}
        for order_id, updated in selected
    ]
    outcome = orders.bulk_change_status(
        session, who.organization, updates, change_source=history_source(who)
    )
    return RedirectResponse(
        _with_notice(back, changed=outcome.succeeded, failed=len(outcome.errors)), 303
    )


# ---- entry and editing ----------------------------------------------------------------------

_LINE_FIELDS = ("name", "quantity", "price", "product_id")


def _entered_content(form: dict[str, str]) -> dict[str, Any]:
    """The order content a form describes, as an API body: lines left empty are dropped,
    amounts are read exactly, and the total is what the form showed."""
    lines = []
    index = 0
    while f"lines-{index}-name" in form:
        line = {field: form.get(f"lines-{index}-{field}", "").strip() for field in _LINE_FIELDS}
        index += 1
        if any(line.values()):
            lines.append(line)
    body: dict[str, Any] = {
        "currency": form.get("currency", "SAR"),
        "customer_name": form.get("customer_name") or None,
        "customer_phone": form.get("customer_phone") or None,
        "customer_email": form.get("customer_email") or None,
        "notes": form.get("notes") or None,
        "products": [
            {
                "product_id": line["product_id"] or None,
                "name": line["name"] or None,
                "quantity": _number(line["quantity"]),
                "price": _number(line["price"]),
            }
            for line in lines
        ],
    }
    for field in ("delivery_fee", "discount", "tax"):
        body[field] = _number(form.get(field, "") or "0")
    body["total_amount"] = _form_total(body)
    return body


def _number(text: str) -> Any:
    """A form's number as the API reads JSON numbers (whole, or an exact decimal); anything
    else is passed on as text for the schema to refuse with its own message."""
    try:
        return int(text) if text.strip().lstrip("-").isdigit() else Decimal(text.strip())
    except (ArithmeticError, ValueError):  # ValueError: past Python's 4,300 digits for int()
        return text


def _form_total(body: dict[str, Any]) -> Any:
    try:
        subtotal = sum(
            (Decimal(p["quantity"]) * Decimal(p["price"]) for p in body["products"]), Decimal(0)
        )
        return (
            subtotal
            + Decimal(body["tax"])
            + Decimal(body["delivery_fee"])
            - Decimal(body["discount"])
        )
    except (ArithmeticError, TypeError, ValueError):
        return Decimal(0)


def _order_form(
    request: Request,
    who: users.SignedIn,
    form: dict[str, str],
    errors: dict[str, str],
    status: int,
    order: dict[str, Any] | None = None,
) -> Response:
    rows = max(3 if order is None else 1, sum(1 for name in form if name.endswith("-name")))
    return render(
        request,
        "order_form.html",
        language(request, who),
        who=who,
        form=form,
        errors=errors,
        rows=rows,
        order=order,
        status_code=status,
    )


def errors_of(exc: ValidationError | OrderlyError) -> dict[str, str]:
    if isinstance(exc, ValidationError):
        return validation_details(exc.errors())
    return {key: str(value) for key, value in exc.details.items()} or {"body": exc.message}


@router.get("/orders/new")
def new_order_page(request: Request, who: WriterPage) -> Response:
    """Manual entry of a phone order."""
    return _order_form(request, who, {"currency": "SAR"}, {}, 200)


@router.post("/orders/new")
async def create_entered_order(
    request: Request, session: SessionDep, posted: WriterForm
) -> Response:
    who, form = posted.who, posted.form
    fields = form.first_values()
    try:
        body = OrderCreate.model_validate({**_entered_content(fields), "source": "manual"})
        order_id = orders.create_order(
            session, who.organization, body, change_source=history_source(who)
        )
    except (ValidationError, OrderlyError) as exc:
        return _order_form(request, who, fields, errors_of(exc), 422)
    return RedirectResponse(f"/orders/{order_id}", status_code=303)


def _form_of(order: dict[str, Any]) -> dict[str, str]:
    """An order's content as the entry form's fields (amounts written exactly)."""
    form = {
        name: "" if order.get(name) is None else str(order[name])
        for name in ("customer_name", "customer_phone", "customer_email", "notes", "currency")
    }
    for name in ("delivery_fee", "discount", "tax"):
        form[name] = _plain(order[name])
    for index, line in enumerate(order["products"]):
        form[f"lines-{index}-name"] = line["name"] or ""
        form[f"lines-{index}-quantity"] = str(line["quantity"])
        form[f"lines-{index}-price"] = _plain(line["price"])
        form[f"lines-{index}-product_id"] = line["product_id"] or ""
    form["updated"] = order["updated"]
    return form


def _plain(amount: Any) -> str:
    return format(exact(amount), "f")


def _get_order(
    request: Request, session: Session, who: users.SignedIn, order_id: str
) -> dict[str, Any]:
    try:
        return orders.get_document(session, who.organization, order_id)
    except orders.OrderNotFound:
        raise not_found(request, who) from None


@router.get("/orders/{order_id}/edit")
def edit_order_page(
    request: Request, order_id: str, session: SessionDep, who: WriterPage
) -> Response:
    """Edit an order's customer, lines and amounts (its statuses move on its own page)."""
    order = _get_order(request, session, who, order_id)
    return _order_form(request, who, _form_of(order), {}, 200, order)


@router.post("/orders/{order_id}/edit")
async def save_order(
    request: Request, order_id: str, session: SessionDep, posted: WriterForm
) -> Response:
    """Replace the order's content as ``PUT`` does, if nobody changed it since the form was
    opened (the form carries its ``updated``, sent as ``If-Match``)."""
    who, form = posted.who, posted.form
    order = _get_order(request, session, who, order_id)
    fields = form.first_values()
    kept = {name: order[name] for name in ("source", "external_id", "external_number", "meta")}
    try:
        body = OrderUpdate.model_validate({**_entered_content(fields), **kept})
        orders.replace_order(
            session, who.organization, order_id, body, if_match=orders.etag(form.get("updated"))
        )
    except orders.OrderChanged:
        return _order_form(request, who, fields, {"updated": "changed"}, 412, order)
    except (ValidationError, OrderlyError) as exc:
        return _order_form(request, who, fields, errors_of(exc), 422, order)
    return RedirectResponse(f"/orders/{order_id}", status_code=303)


# ---- one order ------------------------------------------------------------------------------


@router.get("/orders/{order_id}")
def order_page(request: Request, order_id: str, session: SessionDep, who: AnyonePage) -> Response:
    """One order: its content, its statuses with the moves allowed from them, its parcels,
    refunds and returns with the forms that add them, and its timeline."""
    return show_order(request, session, who, order_id)


def show_order(
    request: Request,
    session: Session,
    who: users.SignedIn,
    order_id: str,
    *,
    problems: dict[str, dict[str, str]] | None = None,
    status_code: int = 200,
) -> Response:
    """The order page; ``problems``: what a refused form (by name) was told."""
    order = _get_order(request, session, who, order_id)
    moves = {
        field.value: statuses.next_statuses(field, order[field.value]) for field in StatusField
    }
    decided = {
        "fulfillment_status": bool(order["shipments"]),
        "payment_status": bool(order["refunds"]),
    }
    for name, is_decided in decided.items():
        if is_decided:
            moves[name] = []  # its records decide it
    delivery, pushes = None, []
    if order["external_id"] is not None and may(who, OWNERS):
        delivery = integrations.delivery_of_order(session, who.organization, order_id)
        pushes = pushback.pushes_of_order(session, who.organization, order_id)
    return render(
        request,
        "order.html",
        language(request, who),
        status_code=status_code,
        who=who,
        order=order,
        left=_what_is_left(order),
        carriers=carriers.KNOWN,
        carrier_name=carriers.display_name,
        shipment_moves=ShipmentStatus,
        moves=moves if may(who, ORDER_WRITERS) else {},
        may_change=may(who, ORDER_WRITERS),
        delivery=delivery,
        pushes=pushes,
        problems=problems or {},
        has_discount=exact(order["discount"]) > 0,
        actors=users.actor_names(session, who.organization, _actors_of(order)),
    )


def _what_is_left(order: dict[str, Any]) -> dict[str, Any]:
    """Per line what may still be shipped, returned and refunded, and the money left to
    refund: asked of the same rules the services keep (``orders.progress``)."""
    state = progress.Progress(
        lines={
            item["line"]: progress.Line(item["quantity"], exact(item["total"]))
            for item in order["products"]
        },
        parcels=[
            progress.Parcel(s["status"], progress.quantities(s["lines"]))
            for s in order["shipments"]
        ],
        comebacks=[
            progress.Comeback(r["status"], progress.quantities(r["lines"]))
            for r in order["returns"]
        ],
        refunded_lines=[progress.quantities(r["lines"]) for r in order["refunds"]],
        total_amount=exact(order["total_amount"]),
        refunded_amount=exact(order["refunded_amount"]),
        has_refunds=bool(order["refunds"]),
    )
    lines = [item["line"] for item in order["products"]]
    return {
        "ship": {line: state.unshipped(line) for line in lines},
        "return": {line: state.returnable(line) for line in lines},
        "refund": {line: state.refundable_units(line) for line in lines},
        "amount": state.refundable_amount,
        "refundable": order["payment_status"] in ("paid", "partially_refunded"),
    }


def _actors_of(order: dict[str, Any]) -> set[str]:
    return {entry["actor"] for entry in order["timeline"]}


@router.post("/orders/{order_id}/status")
async def change_order_status(
    request: Request, order_id: str, session: SessionDep, posted: WriterForm
) -> Response:
    """A status button: checked against the session's form token and the person's role."""
    who, form = posted.who, posted.form
    try:
        change = StatusUpdate.model_validate({form.get("field"): form.get("to")})
        orders.change_status(
            session, who.organization, order_id, change, change_source=history_source(who)
        )
    except (ValidationError, orders.InvalidTransition):
        return RedirectResponse(f"/orders/{order_id}?refused=1", status_code=303)
    except orders.OrderNotFound:
        raise not_found(request, who) from None
    return RedirectResponse(f"/orders/{order_id}", status_code=303)


@router.get("/export")
def export_view(request: Request, who: AnyonePage) -> Response:
    """The current view (its filters and sort) as a file, for every role."""
    try:
        query = ExportQuery.model_validate(dict(request.query_params))
    except ValidationError:
        # Back to the list with the same parameters: it names the one it did not understand.
        view = {k: v for k, v in request.query_params.items() if k != "format"}
        return RedirectResponse("/?" + urlencode(view), status_code=303)
    return stream_export(request, who.organization, query)
