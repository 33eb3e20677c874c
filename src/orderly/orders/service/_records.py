"""What shipments, refunds, returns and notes share: the order read under lock with its lines
and records, the lines a request names checked against what is left, and the one write of a
record with the statuses and quantities it decides (``repository.write_records``)."""

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from orderly.auth.models import Organization
from orderly.core import money
from orderly.core.actor import current_actor
from orderly.core.errors import NotFound, ValidationFailed
from orderly.core.ids import is_order_id, new_keyed_id
from orderly.orders import documents, repository
from orderly.orders.progress import Comeback, Line, Parcel, Progress, quantities
from orderly.orders.repository import Kind
from orderly.orders.schemas import RecordLine
from orderly.orders.service._common import OrderNotFound, check_if_match
from orderly.orders.service._content import search_text
from orderly.orders.statuses import OrderStatus, ShipmentStatus

_ORDER_COLUMNS = (
    "id",
    "status",
    "payment_status",
    "fulfillment_status",
    "source",
    "updated",
    "currency",
    "total_amount",
    "refunded_amount",
    "customer_name",
    "customer_email",
    "customer_phone",
    "external_id",
    "external_number",
    "record_kinds",
)
_RECORD_ID_LENGTH = 16
_PREFIXES = {Kind.SHIPMENT: "shp", Kind.REFUND: "rfd", Kind.RETURN: "ret", Kind.NOTE: "not"}


class ShipmentNotFound(NotFound):
    message = "Shipment not found"


class ReturnNotFound(NotFound):
    message = "Return not found"


NOT_FOUND = {Kind.SHIPMENT: ShipmentNotFound, Kind.RETURN: ReturnNotFound}


def new_record_id(kind: Kind, organization_id: str) -> str:
    """``shp_``/``rfd_``/``ret_``/``not_`` + the organization's key + 16 random characters."""
    return new_keyed_id(_PREFIXES[kind], organization_id, _RECORD_ID_LENGTH)


@dataclass
class LockedOrder:
    """An order as read under lock (plain rows) with its line items and records."""

    row: Any
    items: list[Any]
    records: dict[Kind, list[Any]] = field(default_factory=dict)

    @property
    def currency(self) -> str:
        return str(self.row.currency)

    def progress(self, replaced: Mapping[Kind, Sequence[Any]] | None = None) -> Progress:
        """Its progress from its records; ``replaced``: records of a kind as they will be."""
        by_kind = {**self.records, **(replaced or {})}
        refunds = by_kind.get(Kind.REFUND, [])
        return Progress(
            lines={
                item.position + 1: Line(item.quantity, money.from_storage(item.total))
                for item in self.items
            },
            parcels=[Parcel(p.status, quantities(p.lines)) for p in by_kind.get(Kind.SHIPMENT, [])],
            comebacks=[
                Comeback(r.status, quantities(r.lines)) for r in by_kind.get(Kind.RETURN, [])
            ],
            refunded_lines=[quantities(r.lines) for r in refunds],
            total_amount=money.from_storage(self.row.total_amount),
            refunded_amount=sum(
                (money.from_storage(r.amount) for r in refunds), start=money.from_storage(0)
            ),
            has_refunds=bool(refunds),
        )


def lock_order(
    session: Session,
    organization: Organization,
    order_id: str,
    if_match: str | None,
    kinds: Sequence[Kind] = (Kind.SHIPMENT, Kind.RETURN, Kind.REFUND),
) -> LockedOrder:
    """The order locked until the transaction ends (concurrent records of one order wait for
    each other, so what is left is never counted twice), with its lines and records."""
    rows = (
        repository.order_rows(session, organization.id, [order_id], _ORDER_COLUMNS, lock=True)
        if is_order_id(order_id)
        else []
    )
    if not rows:
        raise OrderNotFound(details={"id": order_id})
    check_if_match(if_match, rows[0].updated)
    items = repository.child_rows(session, organization.id, [order_id])[order_id]
    held = repository.kinds_in(rows[0].record_kinds)  # kinds it has none of are not read
    records = {
        kind: repository.records_of(session, organization.id, [order_id], kind)[order_id]
        if kind in held
        else []
        for kind in kinds
    }
    return LockedOrder(row=rows[0], items=items, records=records)


def lock_order_of(
    session: Session, organization: Organization, kind: Kind, record_id: str
) -> tuple[LockedOrder, Any]:
    """The order a shipment or return belongs to, locked, and that record as read under the
    lock."""
    order_id = repository.order_of_record(session, organization.id, kind, record_id)
    if order_id is None:
        raise NOT_FOUND[kind](details={"id": record_id})
    locked = lock_order(session, organization, order_id, None)
    record = next(r for r in locked.records[kind] if r.id == record_id)
    return locked, record


def check_lines(
    locked: LockedOrder, lines: Sequence[RecordLine], left: Callable[[int], int], what: str
) -> dict[int, int]:
    """The lines a request names by line, each on the order and within ``left(line)``;
    otherwise ``ValidationFailed`` naming the entry (``lines[0].quantity``)."""
    count = len(locked.items)
    wanted: dict[int, int] = {}
    errors: dict[str, str] = {}
    for index, entry in enumerate(lines):
        if entry.line > count:
            errors[f"lines[{index}].line"] = (
                f"Line {entry.line} is not on the order (it has {count})"
            )
        elif entry.line in wanted:
            errors[f"lines[{index}].line"] = f"Line {entry.line} is named twice"
        elif entry.quantity > (available := left(entry.line)):
            errors[f"lines[{index}].quantity"] = f"Line {entry.line} has {available} left {what}"
        wanted[entry.line] = entry.quantity
    if errors:
        raise ValidationFailed(details=errors)
    return wanted


def stored_lines(wanted: Mapping[int, int]) -> list[dict[str, int]]:
    return [{"line": line, "quantity": n} for line, n in sorted(wanted.items())]


def refuse_final(locked: LockedOrder, what: str) -> None:
    if locked.row.status == OrderStatus.CANCELLED:
        raise ValidationFailed(details={"status": f"The order is cancelled: it cannot {what}"})


def record_change(
    locked: LockedOrder,
    after: Progress,
    *,
    action: str,
    details: Mapping[str, Any],
    history_source: str,
    inserts: Sequence[tuple[Any, Mapping[str, Any]]] = (),
    updates: Sequence[tuple[Any, str, Mapping[str, Any]]] = (),
    order_columns: Mapping[str, Any] | None = None,
    actor: str | None = None,
) -> repository.RecordChange:
    """The write of a record with what it decides of its order: the statuses ``after``
    derives (each change in the history) and its lines' shipped and returned quantities."""
    row = locked.row
    before = {"status": row.status, "payment_status": row.payment_status}
    before["fulfillment_status"] = row.fulfillment_status
    derived = after.derived_statuses(before)
    changes = [
        (name, before[name], derived[name]) for name in before if derived[name] != before[name]
    ]
    lines: dict[int, dict[str, int]] = {}
    # Only what was read decides: a note reads no shipments and leaves the quantities be.
    for item in locked.items if Kind.SHIPMENT in locked.records else ():
        now = {
            "fulfilled_quantity": after.shipped(item.position + 1),
            "returned_quantity": after.returned(item.position + 1),
        }
        if now != {name: getattr(item, name) for name in now}:
            lines[item.position] = now
    return repository.RecordChange(
        order_id=row.id,
        before=repository.count_key(row._asdict()),
        action=action,
        details=details,
        inserts=inserts,
        updates=updates,
        status_changes=changes,
        order_columns=order_columns or {},
        line_quantities=lines,
        history_source=history_source,
        actor=actor,
    )


def search_columns(locked: LockedOrder, parcels: Sequence[Any]) -> dict[str, str]:
    """The order's search text with the tracking numbers of its ``parcels`` (as they will be)
    that were not cancelled: a tracking number finds its order."""
    own = search_text(locked.row._asdict())
    numbers = [
        p.tracking_number
        for p in parcels
        if p.tracking_number and p.status != ShipmentStatus.CANCELLED
    ]
    return {"search_text": repository.searchable(own, numbers)}


def write(
    session: Session, organization: Organization, change: repository.RecordChange, at: datetime
) -> None:
    repository.write_records(session, organization.id, change, at=at)


def actor() -> str:
    """Who makes a record: the token, the person, the command line (as the audit trail)."""
    return current_actor.get()[:80]


def record_document(
    session: Session, organization: Organization, kind: Kind, record_id: str
) -> dict[str, Any]:
    """A record as its endpoints show it."""
    row = repository.record_row(session, organization.id, kind, record_id)
    if row is None:
        raise NOT_FOUND.get(kind, NotFound)(details={"id": record_id})
    [order] = repository.order_rows(session, organization.id, [row.order_id], ("currency",))
    return documents.record_document(kind, row, order.currency)


def record_documents(
    session: Session, organization: Organization, order_id: str, kind: Kind
) -> list[dict[str, Any]]:
    """An order's records of one kind, oldest first."""
    rows = (
        repository.order_rows(session, organization.id, [order_id], ("currency",))
        if is_order_id(order_id)
        else []
    )
    if not rows:
        raise OrderNotFound(details={"id": order_id})
    records = repository.records_of(session, organization.id, [order_id], kind)[order_id]
    return [documents.record_document(kind, row, rows[0].currency) for row in records]
