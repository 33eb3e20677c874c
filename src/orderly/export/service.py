"""Stream every order matching the list filters: rows for tables, documents for JSONL."""

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from orderly.core import money
from orderly.export import formats
from orderly.export.columns import Column, Shape
from orderly.export.formats import Format
from orderly.orders import repository
from orderly.orders.filters import OrderFilters
from orderly.orders.models import LineItem, Order
from orderly.orders.schemas import OrderDetail

BATCH_SIZE = 2000
_LINE_FIELDS = {
    "line_number": lambda item: item.position + 1,
    "product_id": lambda item: item.product_id,
    "product_name": lambda item: item.name,
    "quantity": lambda item: item.quantity,
    "price": lambda item: item.price,
    "line_total": lambda item: item.total,
}


@dataclass(frozen=True)
class ExportPlan:
    organization_id: str
    filters: OrderFilters
    shape: Shape
    columns: list[Column]

    @property
    def needs_items(self) -> bool:
        names = {c.name for c in self.columns}
        return self.shape == Shape.LINE_ITEMS or bool(names & {"products", "items_count"})


def count(session: Session, plan: ExportPlan) -> int:
    """How many orders the export holds (for progress bars)."""
    return repository.count_orders(session, plan.organization_id, plan.filters)


def _batches(
    session: Session, organization_id: str, filters: OrderFilters, *, items: bool, history: bool
) -> Iterator[list[Order]]:
    # One snapshot for the whole export: REPEATABLE READ on PostgreSQL, a read transaction on
    # SQLite (WAL keeps it stable while writers go on).
    if session.get_bind().dialect.name == "postgresql":
        session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
    for batch in repository.stream_orders(session, organization_id, filters, batch_size=BATCH_SIZE):
        orders = list(batch)
        if items:
            repository.load_children(session, organization_id, orders, history=history)
        yield orders
        for order in orders:  # keep memory flat: nothing outlives its batch
            session.expunge(order)


def _order_value(order: Order, column: Column) -> Any:
    name = column.name
    if name == "products":
        return [_line_document(item, order.currency) for item in order.products]
    if name == "items_count":
        return len(order.products)
    value = getattr(order, name)
    if isinstance(value, Decimal):
        return money.quantize(value, order.currency)
    return value.value if hasattr(value, "value") else value


def _line_document(item: LineItem, currency: str) -> dict[str, Any]:
    return {
        "product_id": item.product_id,
        "name": item.name,
        "quantity": item.quantity,
        "price": money.quantize(item.price, currency),
        "total": money.quantize(item.total, currency),
    }


def rows(
    session: Session, plan: ExportPlan, on_orders: Callable[[int], None] | None = None
) -> Iterator[list[list[Any]]]:
    """Batches of rows, each a list of values in column order (Decimal, datetime, str, int …)."""
    order_columns = [c for c in plan.columns if c.name not in _LINE_FIELDS]
    line_columns = [c for c in plan.columns if c.name in _LINE_FIELDS]
    for orders in _batches(
        session, plan.organization_id, plan.filters, items=plan.needs_items, history=False
    ):
        batch: list[list[Any]] = []
        for order in orders:
            values = {c.name: _order_value(order, c) for c in order_columns}
            if plan.shape == Shape.ORDERS:
                batch.append([values[c.name] for c in plan.columns])
                continue
            # One row per line item; an order without lines still gets one row.
            lines: list[LineItem | None] = list(order.products) or [None]
            for item in lines:
                for column in line_columns:
                    value = _LINE_FIELDS[column.name](item) if item is not None else None
                    if isinstance(value, Decimal):
                        value = money.quantize(value, order.currency)
                    values[column.name] = value
                batch.append([values[c.name] for c in plan.columns])
        yield batch
        if on_orders:
            on_orders(len(orders))


def documents(
    session: Session, organization_id: str, filters: OrderFilters
) -> Iterator[list[dict[str, Any]]]:
    """Batches of full order documents, the shape of ``GET /orders/{id}``."""
    for orders in _batches(session, organization_id, filters, items=True, history=True):
        yield [OrderDetail.model_validate(o).model_dump(by_alias=True) for o in orders]


def export_bytes(
    session: Session,
    plan: ExportPlan,
    fmt: Format,
    *,
    bom: bool = False,
    on_orders: Callable[[int], None] | None = None,
) -> Iterator[bytes]:
    """The export file, chunk by chunk, as the rows come out of the database.

    ``on_orders`` hears how many orders each batch held (for progress bars).
    """
    if fmt == Format.JSONL:
        for batch in documents(session, plan.organization_id, plan.filters):
            yield formats.jsonl(batch)
            if on_orders:
                on_orders(len(batch))
        return
    writer = formats.table_writer(fmt, plan.columns, bom=bom)
    yield from formats.stream(writer, rows(session, plan, on_orders))
