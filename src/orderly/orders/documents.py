"""Orders as the API shows them, built from plain database rows and written by orjson.

``GET /orders/{id}``, the list, every write's answer and the JSONL export use these: no ORM
objects and no per-value ``Decimal`` on the way. The documents have exactly the fields of the
declared ``Order`` / ``OrderDetail`` schemas, in their order (a test validates answers against
them): money in the currency's precision as exact JSON numbers (never through a binary float),
times in ISO 8601 UTC with ``Z``.

Rows come from ``repository`` in their plain form (``plain``): money as integer 10^-4 units,
times as "YYYY-MM-DD HH:MM:SS.ffffff" UTC text, statuses as strings.
"""

from collections.abc import Sequence
from typing import Any

import orjson
from sqlalchemy import Row
from sqlalchemy.orm import Session

from orderly.core import money
from orderly.core.http import dump_json
from orderly.orders import plain, repository
from orderly.orders.models import LineItemRow, StatusChange
from orderly.orders.plain import money_text, time_text

MONEY_FIELDS = plain.MONEY
# Every order column a document is made from.
ORDER_COLUMNS = plain.SHOWN

RawNumber = orjson.Fragment  # a number written into JSON exactly as its text


# Rows are read by position: a SQLAlchemy row's attribute access costs more than building the
# whole document. Positions follow the columns each query selects.
_O = {name: i for i, name in enumerate(ORDER_COLUMNS)}
_L = {column.key: i for i, column in enumerate(LineItemRow.__table__.columns)}
_H = {column.key: i for i, column in enumerate(StatusChange.__table__.columns)}


def line_document(item: Row[Any], places: int) -> dict[str, Any]:
    values = tuple(item)
    return {
        "product_id": values[_L["product_id"]],
        "name": values[_L["name"]],
        "quantity": values[_L["quantity"]],
        "price": RawNumber(money_text(values[_L["price"]], places)),
        "total": RawNumber(money_text(values[_L["total"]], places)),
    }


def history_document(change: Row[Any]) -> dict[str, Any]:
    values = tuple(change)
    return {
        "field": values[_H["field"]],
        "from": values[_H["from_value"]],
        "to": values[_H["to_value"]],
        "at": time_text(values[_H["at"]]),
        "source": values[_H["source"]],
    }


def order_document(
    order: Row[Any], items: Sequence[Row[Any]], history: Sequence[Row[Any]] | None
) -> dict[str, Any]:
    """One order's document from a row of ``ORDER_COLUMNS``; with ``history`` it is the
    detail (``OrderDetail``).

    Written out field by field, in the schema's order, because this runs for every order of
    every page (a test holds it to the declared schemas)."""
    v, o = tuple(order), _O
    places = money.currency_places(v[o["currency"]])

    def amount(units: int) -> RawNumber:
        return RawNumber(money_text(units, places))

    meta = v[o["meta"]]
    document = {
        "id": v[o["id"]],
        "organization_id": v[o["organization_id"]],
        "source": v[o["source"]],
        "external_id": v[o["external_id"]],
        "external_number": v[o["external_number"]],
        "customer_name": v[o["customer_name"]],
        "customer_email": v[o["customer_email"]],
        "customer_phone": v[o["customer_phone"]],
        "products": [line_document(item, places) for item in items],
        "subtotal": amount(v[o["subtotal"]]),
        "discount": amount(v[o["discount"]]),
        "tax": amount(v[o["tax"]]),
        "delivery_fee": amount(v[o["delivery_fee"]]),
        "total_amount": amount(v[o["total_amount"]]),
        "currency": v[o["currency"]],
        "status": v[o["status"]],
        "payment_status": v[o["payment_status"]],
        "fulfillment_status": v[o["fulfillment_status"]],
        "notes": v[o["notes"]],
        "meta": {} if meta is None else meta,
        "created": time_text(v[o["created"]]),
        "updated": time_text(v[o["updated"]]),
    }
    if history is not None:
        document["status_history"] = [history_document(change) for change in history]
    return document


def build(
    session: Session, organization_id: str, orders: Sequence[Row[Any]], *, history: bool
) -> list[dict[str, Any]]:
    """Documents of ``orders`` (rows of ``ORDER_COLUMNS``), their children read in one query
    per kind."""
    ids = [order.id for order in orders]
    items = repository.child_rows(session, organization_id, ids)
    changes = repository.child_rows(session, organization_id, ids, history=True) if history else {}
    return [
        order_document(order, items[order.id], changes[order.id] if history else None)
        for order in orders
    ]


def dumps_lines(batch: Sequence[Any]) -> bytes:
    """One document per line (JSONL)."""
    return b"".join(dump_json(document) + b"\n" for document in batch)
