"""The columns an export can carry, per shape, and how each value is written."""

from dataclasses import dataclass
from enum import StrEnum


class Kind(StrEnum):
    TEXT = "text"
    MONEY = "money"  # exact decimal in the order's currency precision
    INTEGER = "integer"
    TIMESTAMP = "timestamp"  # UTC
    JSON = "json"  # nested data (products, meta) as a JSON document


class Shape(StrEnum):
    ORDERS = "orders"
    LINE_ITEMS = "line_items"  # a row per line item
    SHIPMENTS = "shipments"  # a row per shipment (orders without one have no row)
    REFUNDS = "refunds"  # a row per refund (likewise)


@dataclass(frozen=True)
class Column:
    name: str
    kind: Kind


ORDER_COLUMNS = [
    Column("id", Kind.TEXT),
    Column("source", Kind.TEXT),
    Column("external_id", Kind.TEXT),
    Column("external_number", Kind.TEXT),
    Column("customer_name", Kind.TEXT),
    Column("customer_email", Kind.TEXT),
    Column("customer_phone", Kind.TEXT),
    Column("subtotal", Kind.MONEY),
    Column("discount", Kind.MONEY),
    Column("tax", Kind.MONEY),
    Column("delivery_fee", Kind.MONEY),
    Column("total_amount", Kind.MONEY),
    Column("refunded_amount", Kind.MONEY),
    Column("currency", Kind.TEXT),
    Column("status", Kind.TEXT),
    Column("payment_status", Kind.TEXT),
    Column("fulfillment_status", Kind.TEXT),
    Column("notes", Kind.TEXT),
    Column("created", Kind.TIMESTAMP),
    Column("updated", Kind.TIMESTAMP),
]
# Available on request (columns=…): heavier, or rarely wanted in a spreadsheet.
EXTRA_ORDER_COLUMNS = [
    Column("organization_id", Kind.TEXT),
    Column("items_count", Kind.INTEGER),
    Column("products", Kind.JSON),
    Column("meta", Kind.JSON),
    Column("net_amount", Kind.MONEY),
    Column("shipped_quantity", Kind.INTEGER),  # units in shipments not cancelled
    Column("returned_quantity", Kind.INTEGER),
    Column("tracking_numbers", Kind.TEXT),  # of shipments not cancelled, space-separated
]
LINE_COLUMNS = [
    Column("line_number", Kind.INTEGER),
    Column("product_id", Kind.TEXT),
    Column("product_name", Kind.TEXT),
    Column("quantity", Kind.INTEGER),
    Column("price", Kind.MONEY),
    Column("line_total", Kind.MONEY),
]

SHIPMENT_COLUMNS = [
    Column("shipment_id", Kind.TEXT),
    Column("shipment_status", Kind.TEXT),
    Column("carrier", Kind.TEXT),
    Column("tracking_number", Kind.TEXT),
    Column("tracking_url", Kind.TEXT),
    Column("shipment_quantity", Kind.INTEGER),
    Column("shipped_at", Kind.TIMESTAMP),
    Column("delivered_at", Kind.TIMESTAMP),
]
REFUND_COLUMNS = [
    Column("refund_id", Kind.TEXT),
    Column("refund_amount", Kind.MONEY),
    Column("refund_reason", Kind.TEXT),
    Column("refund_restock", Kind.TEXT),
    Column("refund_quantity", Kind.INTEGER),
    Column("refunded_at", Kind.TIMESTAMP),
]
# What a row of each shape adds to the order's columns.
PER_ROW = {
    Shape.ORDERS: [],
    Shape.LINE_ITEMS: LINE_COLUMNS,
    Shape.SHIPMENTS: SHIPMENT_COLUMNS,
    Shape.REFUNDS: REFUND_COLUMNS,
}
DEFAULTS = {shape: ORDER_COLUMNS + PER_ROW[shape] for shape in Shape}
AVAILABLE = {
    shape: {c.name: c for c in ORDER_COLUMNS + EXTRA_ORDER_COLUMNS + PER_ROW[shape]}
    for shape in Shape
}


def choose(shape: Shape, names: list[str] | None) -> list[Column]:
    """The columns asked for, in the order asked; ``ValueError`` names an unknown one."""
    if not names:
        return DEFAULTS[shape]
    available = AVAILABLE[shape]
    unknown = [n for n in names if n not in available]
    if unknown:
        raise ValueError(
            f"Unknown column {unknown[0]!r} for shape {shape.value}; "
            f"available: {', '.join(available)}"
        )
    if len(set(names)) != len(names):
        raise ValueError("A column is named twice")
    return [available[n] for n in names]
