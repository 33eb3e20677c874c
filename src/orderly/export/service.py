"""Stream every order matching the list filters: rows for tables, documents for JSONL.

Values leave the database as plain rows and become their canonical text here (money in the
currency's precision, times in ISO 8601 UTC); each format then types them as it needs.
A million orders pass through, so this path avoids ORM objects and per-value Decimals.
"""

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Row
from sqlalchemy.orm import Session

from orderly.core import money
from orderly.export import formats
from orderly.export import repository as export_repository
from orderly.export.columns import Column, Shape
from orderly.export.formats import Format
from orderly.orders import documents, plain, repository
from orderly.orders.filters import OrderFilters
from orderly.orders.plain import FIXED, money_text, time_text
from orderly.orders.repository import Kind
from orderly.orders.statuses import ShipmentStatus

BATCH_SIZE = 2000
_MONEY = plain.MONEY
_LINE_VALUES: dict[str, Callable[[Any, int], Any]] = {
    "line_number": lambda item, places: item.position + 1,
    "product_id": lambda item, places: item.product_id,
    "product_name": lambda item, places: item.name,
    "quantity": lambda item, places: item.quantity,
    "price": lambda item, places: money_text(item.price, places),
    "line_total": lambda item, places: money_text(item.total, places),
}


_SHIPMENT_VALUES: dict[str, Callable[[Any, int], Any]] = {
    "shipment_id": lambda row, places: row.id,
    "shipment_status": lambda row, places: row.status,
    "carrier": lambda row, places: row.carrier,
    "tracking_number": lambda row, places: row.tracking_number,
    "tracking_url": lambda row, places: row.tracking_url,
    "shipment_quantity": lambda row, places: sum(e["quantity"] for e in row.lines),
    "shipped_at": lambda row, places: time_text(row.shipped_at),
    "delivered_at": lambda row, places: row.delivered_at and time_text(row.delivered_at),
}
_REFUND_VALUES: dict[str, Callable[[Any, int], Any]] = {
    "refund_id": lambda row, places: row.id,
    "refund_amount": lambda row, places: money_text(row.amount, places),
    "refund_reason": lambda row, places: row.reason,
    "refund_restock": lambda row, places: "true" if row.restock else "false",
    "refund_quantity": lambda row, places: sum(e["quantity"] for e in row.lines),
    "refunded_at": lambda row, places: time_text(row.created),
}
# Per shape: the kind of record a row is made of, and how each of its columns is written.
_PER_ROW: dict[Shape, tuple[Kind | None, dict[str, Callable[[Any, int], Any]]]] = {
    Shape.LINE_ITEMS: (None, _LINE_VALUES),
    Shape.SHIPMENTS: (Kind.SHIPMENT, _SHIPMENT_VALUES),
    Shape.REFUNDS: (Kind.REFUND, _REFUND_VALUES),
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
        wanted = {"products", "items_count", "shipped_quantity", "returned_quantity"}
        return self.shape == Shape.LINE_ITEMS or bool(names & wanted)

    @property
    def records(self) -> set[Kind]:
        """The kinds of records the rows are made of or show."""
        kinds = {Kind.SHIPMENT} if "tracking_numbers" in {c.name for c in self.columns} else set()
        if (kind := _PER_ROW.get(self.shape, (None, {}))[0]) is not None:
            kinds.add(kind)
        return kinds


def count(session: Session, plan: ExportPlan) -> int:
    """How many orders the export holds (for progress bars)."""
    return repository.count_orders(session, plan.organization_id, plan.filters)


_ORDER_FIELDS = plain.SHOWN  # what an order row can carry


def _batches(
    session: Session, organization_id: str, filters: OrderFilters, fields: Sequence[str]
) -> Iterator[Sequence[Row[Any]]]:
    # One snapshot for the whole export: REPEATABLE READ on PostgreSQL, a read transaction on
    # SQLite (WAL keeps it stable while writers go on).
    if session.get_bind().dialect.name == "postgresql":
        session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
    yield from repository.stream_order_rows(
        session, organization_id, filters, fields, batch_size=BATCH_SIZE
    )


def _order_values(order: Row[Any], places: int) -> dict[str, Any]:
    values = order._asdict()
    for name in _MONEY:
        if name in values:
            values[name] = money_text(values[name], places)
    for name in plain.TIMES:
        if name in values:
            values[name] = time_text(values[name])
    return values


def rows(
    session: Session, plan: ExportPlan, on_orders: Callable[[int], None] | None = None
) -> Iterator[list[list[Any]]]:
    """Batches of rows, each a list of canonical values in column order (text for money/times)."""
    names = [c.name for c in plan.columns]
    if plan.shape == Shape.ORDERS and all(n in _ORDER_FIELDS for n in names):
        yield from _plain_rows(session, plan, names, on_orders)
        return
    kind, per_row = _PER_ROW.get(plan.shape, (None, {}))
    row_names = [n for n in names if n in per_row]
    wanted = {"id", "currency", "total_amount", "refunded_amount", *names}
    fields = [n for n in _ORDER_FIELDS if n in wanted]
    for orders in _batches(session, plan.organization_id, plan.filters, fields):
        ids = [o.id for o in orders]
        items = (
            repository.child_rows(session, plan.organization_id, ids) if plan.needs_items else {}
        )
        records = {
            kind: repository.records_of(session, plan.organization_id, ids, kind)
            for kind in plan.records
        }
        batch: list[list[Any]] = []
        for order in orders:
            places = money.currency_places(order.currency)
            values = _order_values(order, places)
            lines = items.get(order.id, [])
            values["items_count"] = len(lines)
            values["products"] = (
                [documents.line_document(item, places) for item in lines] if items else None
            )
            values["net_amount"] = money_text(order.total_amount - order.refunded_amount, places)
            values["shipped_quantity"] = sum(item.fulfilled_quantity for item in lines)
            values["returned_quantity"] = sum(item.returned_quantity for item in lines)
            if Kind.SHIPMENT in records:
                parcels = records[Kind.SHIPMENT][order.id]
                values["tracking_numbers"] = " ".join(
                    p.tracking_number
                    for p in parcels
                    if p.tracking_number and p.status != ShipmentStatus.CANCELLED
                )
            if plan.shape == Shape.ORDERS:
                batch.append([values[n] for n in names])
                continue
            # One row per line item (an order without lines still gets one row); one per
            # shipment or refund (an order without one gets none).
            rows_of: list[Any] = ([*lines] or [None]) if kind is None else records[kind][order.id]
            for child in rows_of:
                for name in row_names:
                    values[name] = None if child is None else per_row[name](child, places)
                batch.append([values[n] for n in names])
        yield batch
        if on_orders:
            on_orders(len(orders))


def _plain_rows(
    session: Session,
    plan: ExportPlan,
    names: list[str],
    on_orders: Callable[[int], None] | None,
) -> Iterator[list[list[Any]]]:
    """The common case, one row per order of plain order columns, kept to a tight loop."""
    fields = [*names, "currency"]  # the currency sets each row's money precision
    money_at = [i for i, n in enumerate(names) if n in _MONEY]
    times_at = [i for i, n in enumerate(names) if n in plain.TIMES]
    json_at = [i for i, n in enumerate(names) if n == "meta"]
    places_of = money.currency_places
    for orders in _batches(session, plan.organization_id, plan.filters, fields):
        batch = []
        for order in orders:
            row = list(order)
            places = places_of(row.pop())
            fixed = FIXED[places]
            for i in money_at:
                units = row[i]
                row[i] = fixed(units) if units >= 0 else money_text(units, places)
            for i in times_at:
                row[i] = time_text(row[i])
            for i in json_at:
                row[i] = row[i] if row[i] is not None else {}
            batch.append(row)
        yield batch
        if on_orders:
            on_orders(len(orders))


def _documents(
    session: Session, organization_id: str, filters: OrderFilters
) -> Iterator[list[dict[str, Any]]]:
    """Batches of full order documents, the shape of ``GET /orders/{id}``."""
    for orders in _batches(session, organization_id, filters, documents.ORDER_COLUMNS):
        yield documents.build(session, organization_id, orders, history=True)


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
        for batch in _documents(session, plan.organization_id, plan.filters):
            yield documents.dumps_lines(batch)
            if on_orders:
                on_orders(len(batch))
        return
    if fmt == Format.CSV and _server_writes_csv(session, plan):
        yield from _copied_csv(session, plan, bom, on_orders)
        return
    writer = formats.table_writer(fmt, plan.columns, bom=bom)
    yield from formats.stream(writer, rows(session, plan, on_orders))


def _server_writes_csv(session: Session, plan: ExportPlan) -> bool:
    """PostgreSQL can write the common CSV (plain order columns) itself, several times faster."""
    return (
        session.get_bind().dialect.name == "postgresql"
        and plan.shape == Shape.ORDERS
        and all(c.name in _ORDER_FIELDS and c.name != "meta" for c in plan.columns)
    )


def _copied_csv(
    session: Session, plan: ExportPlan, bom: bool, on_orders: Callable[[int], None] | None
) -> Iterator[bytes]:
    if bom:
        yield formats.UTF8_BOM
    done = -1  # the first row is the header
    names = [c.name for c in plan.columns]
    pending: list[bytes] = []
    for line in export_repository.copy_orders_csv(
        session, plan.organization_id, plan.filters, names
    ):
        # COPY ends rows with LF; RFC 4180 (and the Python writer) with CRLF.
        pending.append(line[:-1] + b"\r\n" if line.endswith(b"\n") else line)
        done += 1
        # COPY hands over a row at a time; the response gets them a batch at a time, since
        # each chunk costs a trip through the server's thread pool.
        if done % BATCH_SIZE == 0:
            yield b"".join(pending)
            pending.clear()
            if on_orders and done:
                on_orders(BATCH_SIZE)
    yield b"".join(pending)
    if on_orders and done % BATCH_SIZE:
        on_orders(done % BATCH_SIZE)
