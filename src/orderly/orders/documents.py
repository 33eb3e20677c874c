"""Orders as the API shows them, built from plain database rows and written by orjson.

``GET /orders/{id}``, the list, every write's answer and the JSONL export use these: no ORM
objects and no per-value ``Decimal`` on the way. The documents have exactly the fields of the
declared ``Order`` / ``OrderDetail`` schemas, in their order (a test validates answers against
them): money in the currency's precision as exact JSON numbers (never through a binary float),
times in ISO 8601 UTC with ``Z``.

Rows come from ``repository`` in their plain form (``plain``): money as integer 10^-4 units,
times as "YYYY-MM-DD HH:MM:SS.ffffff" UTC text, statuses as strings.
"""

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import orjson
from sqlalchemy import Row
from sqlalchemy.orm import Session

from orderly.core import money
from orderly.core.http import dump_json
from orderly.orders import plain, repository
from orderly.orders.models import LineItemRow, StatusChange
from orderly.orders.plain import money_text, time_text
from orderly.orders.repository import Kind

MONEY_FIELDS = plain.MONEY
# Every order column a document is made from, and which kinds of records it has (to read
# only those).
ORDER_COLUMNS = (*plain.SHOWN, "record_kinds")

RawNumber = orjson.Fragment  # a number written into JSON exactly as its text
# Columns a new row leaves to the database's default of 0.
_ZERO_BY_DEFAULT = frozenset(
    {"refunded_amount", "record_kinds", "fulfilled_quantity", "returned_quantity"}
)


# Rows are read by position: a SQLAlchemy row's attribute access costs more than building the
# whole document. Positions follow the columns each query selects.
_O = {name: i for i, name in enumerate(ORDER_COLUMNS)}
_L = {column.key: i for i, column in enumerate(LineItemRow.__table__.columns)}
_H = {column.key: i for i, column in enumerate(StatusChange.__table__.columns)}


def line_document(item: Row[Any], places: int) -> dict[str, Any]:
    values = tuple(item)
    return {
        "line": values[_L["position"]] + 1,
        "product_id": values[_L["product_id"]],
        "name": values[_L["name"]],
        "quantity": values[_L["quantity"]],
        "price": RawNumber(money_text(values[_L["price"]], places)),
        "total": RawNumber(money_text(values[_L["total"]], places)),
        "fulfilled_quantity": values[_L["fulfilled_quantity"]],
        "returned_quantity": values[_L["returned_quantity"]],
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
    order: Row[Any],
    items: Sequence[Row[Any]],
    history: Sequence[Row[Any]] | None,
    records: Mapping[Kind, Sequence[Any]] | None = None,
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
        "refunded_amount": amount(v[o["refunded_amount"]]),
        "net_amount": amount(v[o["total_amount"]] - v[o["refunded_amount"]]),
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
        status_history = [history_document(change) for change in history]
        document["status_history"] = status_history
        if not records:  # none of any kind (the common case): nothing to merge
            document["shipments"] = document["refunds"] = document["returns"] = []
            document["timeline"] = timeline(status_history, {})
            return document
        currency = document["currency"]
        shown = {
            kind: [record_document(kind, row, currency) for row in records.get(kind, ())]
            for kind in Kind
        }
        document["shipments"] = shown[Kind.SHIPMENT]
        document["refunds"] = shown[Kind.REFUND]
        document["returns"] = shown[Kind.RETURN]
        document["timeline"] = timeline(status_history, shown)
    return document


def _lines(stored: Sequence[Mapping[str, int]]) -> list[dict[str, int]]:
    return [{"line": entry["line"], "quantity": entry["quantity"]} for entry in stored]


def _time(value: Any) -> str | None:
    return None if value is None else time_text(value)


def record_document(kind: Kind, row: Any, currency: str) -> dict[str, Any]:
    """A shipment, refund, return or note (a plain row) as its endpoints show it."""
    if kind == Kind.SHIPMENT:
        return {
            "id": row.id,
            "order_id": row.order_id,
            "status": row.status,
            "carrier": row.carrier,
            "tracking_number": row.tracking_number,
            "tracking_url": row.tracking_url,
            "lines": _lines(row.lines),
            "shipped_at": time_text(row.shipped_at),
            "delivered_at": _time(row.delivered_at),
            "external_id": row.external_id,
            "actor": row.actor,
            "created": time_text(row.created),
            "updated": time_text(row.updated),
        }
    if kind == Kind.REFUND:
        return {
            "id": row.id,
            "order_id": row.order_id,
            "amount": RawNumber(money_text(row.amount, money.currency_places(currency))),
            "currency": currency,
            "lines": _lines(row.lines),
            "reason": row.reason,
            "note": row.note,
            "restock": bool(row.restock),
            "return_id": row.return_id,
            "external_id": row.external_id,
            "actor": row.actor,
            "created": time_text(row.created),
        }
    if kind == Kind.RETURN:
        return {
            "id": row.id,
            "order_id": row.order_id,
            "status": row.status,
            "lines": _lines(row.lines),
            "reason": row.reason,
            "received_at": _time(row.received_at),
            "refund_id": row.refund_id,
            "actor": row.actor,
            "created": time_text(row.created),
        }
    return {
        "id": row.id,
        "order_id": row.order_id,
        "text": row.text,
        "actor": row.actor,
        "created": time_text(row.created),
    }


def timeline(
    history: Sequence[Mapping[str, Any]], records: Mapping[Kind, Sequence[dict[str, Any]]]
) -> list[dict[str, Any]]:
    """Status changes and records merged in time order, each with who made it."""
    # A status change's data is its history entry itself (one object, written twice).
    entries: list[dict[str, Any]] = [
        {"at": change["at"], "type": "status_changed", "actor": change["source"], "data": change}
        for change in history
    ]
    if not any(records.values()):
        return entries  # the history alone is in time order already

    def add(at: str, kind: str, record: dict[str, Any]) -> None:
        entries.append({"at": at, "type": kind, "actor": record["actor"], "data": record})

    for shipment in records.get(Kind.SHIPMENT, ()):
        add(shipment["created"], "shipment_created", shipment)
        if shipment["status"] != "shipped":
            status_at = shipment["delivered_at"] or shipment["updated"]
            if shipment["status"] != "delivered":
                status_at = shipment["updated"]
            add(status_at, "shipment_status", shipment)
    for refund in records.get(Kind.REFUND, ()):
        add(refund["created"], "refund_created", refund)
    for comeback in records.get(Kind.RETURN, ()):
        add(comeback["created"], "return_requested", comeback)
        if comeback["received_at"] is not None:
            add(comeback["received_at"], "return_received", comeback)
    for note in records.get(Kind.NOTE, ()):
        add(note["created"], "note_added", note)
    # ISO text of UTC times sorts as the times do; a stable sort keeps equal times in order.
    return sorted(entries, key=lambda entry: _sortable(entry["at"]))


def _sortable(at: str) -> str:
    """``…:05Z`` and ``…:05.5Z`` sort by time: the fraction written out to six places."""
    seconds, _, fraction = at.removesuffix("Z").partition(".")
    return f"{seconds}.{fraction.ljust(6, '0')}"


def build(
    session: Session, organization_id: str, orders: Sequence[Row[Any]], *, history: bool
) -> list[dict[str, Any]]:
    """Documents of ``orders`` (rows of ``ORDER_COLUMNS``), their children read in one query
    per kind."""
    ids = [order.id for order in orders]
    items = repository.child_rows(session, organization_id, ids)
    if not history:
        return [order_document(order, items[order.id], None) for order in orders]
    changes = repository.child_rows(session, organization_id, ids, history=True)
    held = set().union(*(repository.kinds_in(order.record_kinds) for order in orders))
    records = {
        kind: repository.records_of(session, organization_id, ids, kind)
        if kind in held
        else {order_id: [] for order_id in ids}
        for kind in Kind
    }
    return [
        order_document(
            order,
            items[order.id],
            changes[order.id],
            {kind: records[kind][order.id] for kind in Kind} if order.record_kinds else None,
        )
        for order in orders
    ]


def _plain(value: Any, times: dict[datetime, str]) -> Any:
    """A value as it is written into a new row, in the plain form a read gives it back
    (``times``: the texts of times already made; a batch's rows share a few)."""
    if isinstance(value, Decimal):
        return money.to_storage(value)
    if isinstance(value, datetime):
        text = times.get(value)
        if text is None:
            text = times[value] = value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
        return text
    return value


_ORDER_SHAPE = tuple((name, name in _ZERO_BY_DEFAULT) for name in ORDER_COLUMNS)
_LINE_SHAPE = tuple((name, name in _ZERO_BY_DEFAULT) for name in _L)
_HISTORY_SHAPE = tuple(_H)


def of_new_rows(
    orders: Sequence[Mapping[str, Any]],
    line_items: Sequence[Mapping[str, Any]],
    history: Sequence[Mapping[str, Any]],
) -> dict[str, dict[str, Any]]:
    """Details of orders being inserted, from the rows themselves: what reading them back
    would give (a test holds the two equal), without the read."""
    times: dict[datetime, str] = {}
    items: dict[str, list[tuple[Any, ...]]] = {}
    for item in line_items:
        items.setdefault(item["order_id"], []).append(
            tuple(
                0 if zero and name not in item else _plain(item[name], times)
                for name, zero in _LINE_SHAPE
            )
        )
    changes: dict[str, list[tuple[Any, ...]]] = {}
    for entry in history:
        changes.setdefault(entry["order_id"], []).append(
            tuple(_plain(entry[name], times) for name in _HISTORY_SHAPE)
        )
    found = {}
    for row in orders:
        order_id = row["id"]
        plain_row = tuple(
            0 if zero and name not in row else _plain(row.get(name), times)
            for name, zero in _ORDER_SHAPE
        )
        found[order_id] = order_document(
            plain_row,  # type: ignore[arg-type]
            items.get(order_id, []),  # type: ignore[arg-type]
            changes.get(order_id, []),  # type: ignore[arg-type]
        )
    return found


def by_id(
    session: Session, organization_id: str, order_ids: Sequence[str]
) -> dict[str, dict[str, Any]]:
    """Details (as ``GET /orders/{id}`` shows them) of the orders that exist, by id."""
    rows = repository.order_rows(session, organization_id, order_ids, ORDER_COLUMNS)
    return {doc["id"]: doc for doc in build(session, organization_id, rows, history=True)}


def dumps_lines(batch: Sequence[Any]) -> bytes:
    """One document per line (JSONL)."""
    return b"".join(dump_json(document) + b"\n" for document in batch)
