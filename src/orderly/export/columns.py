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
    LINE_ITEMS = "line_items"


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
]
LINE_COLUMNS = [
    Column("line_number", Kind.INTEGER),
    Column("product_id", Kind.TEXT),
    Column("product_name", Kind.TEXT),
    Column("quantity", Kind.INTEGER),
    Column("price", Kind.MONEY),
    Column("line_total", Kind.MONEY),
]

DEFAULTS = {Shape.ORDERS: ORDER_COLUMNS, Shape.LINE_ITEMS: ORDER_COLUMNS + LINE_COLUMNS}
AVAILABLE = {
    Shape.ORDERS: {c.name: c for c in ORDER_COLUMNS + EXTRA_ORDER_COLUMNS},
    Shape.LINE_ITEMS: {c.name: c for c in ORDER_COLUMNS + EXTRA_ORDER_COLUMNS + LINE_COLUMNS},
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
