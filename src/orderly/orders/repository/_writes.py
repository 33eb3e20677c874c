"""The one write path of orders: every write of an order passes here, in the caller's
transaction, and each function does all that a write must do, explicitly: the rows, the
history numbered after the order's last entry, the maintained counts, and the record of
the change (``_record_changes``: its audit row and its event for other systems).

- ``insert_orders``: new orders (the API, bulk, import, a platform's new order).
- ``change_statuses``: statuses moved through the transition table (PATCH, bulk, dashboard).
- ``revise``: an order's content replaced (PUT, the dashboard's edit, a platform's update).
- ``delete_orders``: orders removed.
- ``write_records``: a shipment, refund, return or note added or changed, with what it
  changes of its order (statuses it decides, quantities shipped and returned, money refunded).

A new kind of record written with every change belongs in ``_record_changes``, and so is
made by every write.
"""

import dataclasses
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, delete, func, insert, select, update
from sqlalchemy.orm import Session

from orderly.audit import service as audit
from orderly.core.db import Base
from orderly.core.text import fold_for_search
from orderly.events import service as events
from orderly.orders.models import LineItemRow, OrderRow, ShipmentRow, StatusChange
from orderly.orders.plain import COUNTED, raw
from orderly.orders.repository._counts import CountKey, adjust_counts, count_key
from orderly.orders.repository._queries import table
from orderly.orders.repository._records import MODELS, RECORD_BITS
from orderly.orders.statuses import ShipmentStatus


def _documents(
    session: Session, organization_id: str, order_ids: Sequence[str]
) -> dict[str, dict[str, Any]]:
    from orderly.orders import documents  # it reads orders through this package

    return documents.by_id(session, organization_id, order_ids)


def _record_changes(session: Session, changes: Iterable[dict[str, Any]]) -> None:
    """The record of each change (rows of ``audit.event``): its audit row now, and its event,
    which is written as the transaction commits (``events.service``)."""
    rows = list(changes)
    audit.record(session, rows)
    events.record(session, rows, _documents)


STATUS_COLUMNS = ("id", *COUNTED)  # what a status change reads (and locks) of each order
Change = tuple[str, str, str]  # (field, from, to)


@dataclass(frozen=True)
class StatusPlan:
    """The status changes to make to one order: its statuses and source before them (as
    read under lock) and ``(field, from, to)`` per change."""

    order_id: str
    before: CountKey
    changes: Sequence[tuple[str, str, str]]

    @property
    def after(self) -> CountKey:
        values = dict(zip(COUNTED, self.before, strict=True))
        values.update({field: new for field, _, new in self.changes})
        return count_key(values)


def _status_update() -> Any:
    chosen = table(OrderRow)
    return (
        update(chosen)
        .where(
            chosen.c.organization_id == bindparam("of_organization"),
            chosen.c.id == bindparam("of_order"),
        )
        .values(
            status=bindparam("new_status", type_=chosen.c.status.type),
            payment_status=bindparam("new_payment_status", type_=chosen.c.payment_status.type),
            fulfillment_status=bindparam(
                "new_fulfillment_status", type_=chosen.c.fulfillment_status.type
            ),
            updated=bindparam("new_updated", type_=chosen.c.updated.type),
        )
    )


def _last_seqs() -> Any:
    history = table(StatusChange).c
    return (
        select(history.order_id, func.max(history.seq))
        .where(
            history.organization_id == bindparam("organization_id"),
            history.order_id.in_(bindparam("ids", expanding=True)),
        )
        .group_by(history.order_id)
    )


# Built once: a statement rebuilt per request costs more than running it.
_STATUS_UPDATE, _LAST_SEQS = _status_update(), _last_seqs()


def _append_history(
    connection: Connection,
    organization_id: str,
    changes: Mapping[str, Sequence[Change]],
    *,
    source: str,
    at: datetime,
) -> None:
    """History entries for ``changes`` by order id, numbered after each order's last one."""
    changes = {order_id: made for order_id, made in changes.items() if made}
    if not changes:
        return
    parameters = {"organization_id": organization_id, "ids": list(changes)}
    last = dict(connection.execute(_LAST_SEQS, parameters).all())
    entries = []
    for order_id, made in changes.items():
        seq = last.get(order_id) or 0
        for field, old, new in made:
            seq += 1
            entries.append(
                {
                    "organization_id": organization_id,
                    "order_id": order_id,
                    "seq": seq,
                    "field": field,
                    "from_value": old,
                    "to_value": new,
                    "at": at,
                    "source": source,
                }
            )
    connection.execute(insert(table(StatusChange)), entries)


def change_statuses(
    session: Session,
    organization_id: str,
    plans: Sequence[StatusPlan],
    *,
    source: str,
    at: datetime,
) -> None:
    """Apply status changes to orders read (and locked) with ``order_rows(…, STATUS_COLUMNS,
    lock=True)``: the statuses and ``updated``, one history entry per change, the maintained
    counts by what changed, and an audit event per order. Plans for the same order apply in
    turn (a bulk request may name an order twice)."""
    plans = [plan for plan in plans if plan.changes]
    if not plans:
        return
    connection = session.connection()
    updates = []
    history: dict[str, list[Change]] = {}
    counts: Counter[CountKey] = Counter()
    for plan in plans:
        after = plan.after
        updates.append(
            {
                "of_organization": organization_id,
                "of_order": plan.order_id,
                "new_status": after[0],
                "new_payment_status": after[1],
                "new_fulfillment_status": after[2],
                "new_updated": at,
            }
        )
        history.setdefault(plan.order_id, []).extend(plan.changes)
        counts[plan.before] -= 1
        counts[after] += 1
    connection.execute(_STATUS_UPDATE, updates)
    _append_history(connection, organization_id, history, source=source, at=at)
    adjust_counts(session, organization_id, counts)
    _record_changes(
        session,
        (
            audit.event(
                organization_id,
                plan.order_id,
                audit.STATUS_CHANGED,
                {"source": source, "changes": [[f, old, new] for f, old, new in plan.changes]},
                at=at,
            )
            for plan in plans
        ),
    )


@dataclass(frozen=True)
class Revision:
    """What a write changes of one existing order: its statuses and source as read under lock
    (``before``), the columns whose values change (statuses among them), the status changes
    to record in its history, and its new line items (``None``: kept)."""

    order_id: str
    before: CountKey
    columns: Mapping[str, Any]
    status_changes: Sequence[Change] = ()
    line_items: Sequence[Mapping[str, Any]] | None = None
    history_source: str = ""  # who, in the history entries of ``status_changes``
    actor: str | None = None  # for the audit trail, when not whoever the unit of work runs for

    @property
    def after(self) -> CountKey:
        values = dict(zip(COUNTED, self.before, strict=True))
        values.update({name: str(self.columns[name]) for name in COUNTED if name in self.columns})
        return count_key(values)

    @property
    def changed_fields(self) -> list[str]:
        fields = set(self.columns) - {"updated"}
        return sorted(fields | {"products"} if self.line_items is not None else fields)


_NONE_SENT = {"fulfilled_quantity": 0, "returned_quantity": 0}


def revise(session: Session, organization_id: str, revision: Revision, *, at: datetime) -> None:
    """Write a ``Revision`` of an order read under lock: its columns, its line items, history
    for its status changes, the maintained counts, and one audit event naming what changed."""
    if not revision.columns and revision.line_items is None and not revision.status_changes:
        return
    connection = session.connection()
    orders, keys = table(OrderRow), {"organization_id": organization_id}
    columns = dict(revision.columns)
    if "search_text" in columns:  # new content: the order's tracking numbers still find it
        numbers = tracking_numbers(session, organization_id, revision.order_id)
        columns["search_text"] = searchable(columns["search_text"], numbers)
    if columns:
        connection.execute(
            update(orders)
            .where(orders.c.organization_id == organization_id, orders.c.id == revision.order_id)
            .values(**columns)
        )
    if revision.line_items is not None:
        items = table(LineItemRow)
        # Shipped and returned units stay with their line (a platform's update of an order
        # with shipments sends its lines again).
        kept = {
            row.position: {"fulfilled_quantity": row[1], "returned_quantity": row[2]}
            for row in connection.execute(
                select(
                    items.c.position, items.c.fulfilled_quantity, items.c.returned_quantity
                ).where(
                    items.c.organization_id == organization_id,
                    items.c.order_id == revision.order_id,
                    (items.c.fulfilled_quantity > 0) | (items.c.returned_quantity > 0),
                )
            )
        }
        connection.execute(
            delete(items).where(
                items.c.organization_id == organization_id, items.c.order_id == revision.order_id
            )
        )
        if revision.line_items:
            rows = [
                {**keys, "order_id": revision.order_id, **i, **kept.get(i["position"], _NONE_SENT)}
                for i in revision.line_items
            ]
            connection.execute(insert(items), rows)
    _append_history(
        connection,
        organization_id,
        {revision.order_id: revision.status_changes},
        source=revision.history_source,
        at=at,
    )
    if revision.after != revision.before:
        adjust_counts(session, organization_id, {revision.before: -1, revision.after: 1})
    details = {"fields": revision.changed_fields}
    _record_changes(
        session,
        [
            audit.event(
                organization_id,
                revision.order_id,
                audit.UPDATED,
                details,
                actor=revision.actor,
                at=at,
            )
        ],
    )


def insert_orders(
    session: Session,
    orders: list[dict[str, Any]],
    line_items: list[dict[str, Any]],
    history: list[dict[str, Any]],
    actors: Mapping[str, str] | None = None,
) -> None:
    """Insert many new orders with three multi-row statements (and their audit events: by
    ``actors[order id]`` when given, else by whoever the unit of work runs for)."""
    if not orders:
        return
    # Core inserts of plain rows: the ORM's per-object bookkeeping is not needed for new rows.
    connection = session.connection()
    connection.execute(insert(table(OrderRow)), orders)
    adjust_counts(session, orders[0]["organization_id"], Counter(count_key(o) for o in orders))
    if line_items:
        connection.execute(insert(table(LineItemRow)), line_items)
    if history:
        connection.execute(insert(table(StatusChange)), history)
    actors = actors or {}
    _record_changes(
        session,
        (
            audit.event(
                o["organization_id"],
                o["id"],
                audit.CREATED,
                {"source": o["source"]},
                actor=actors.get(o["id"]),
            )
            for o in orders
        ),
    )
    # Their events take the documents from these rows (no read back of what was just written).
    from orderly.orders import documents  # it reads orders through this package

    events.remember_documents(
        session,
        [o["id"] for o in orders],
        lambda: documents.of_new_rows(orders, line_items, history),
    )


def delete_orders(session: Session, organization_id: str, order_ids: Sequence[str]) -> set[str]:
    """Delete orders (their line items and history go with them, ON DELETE CASCADE); returns
    the ids that this statement deleted.

    The counts are taken from what ``DELETE … RETURNING`` removed, never from an earlier read:
    of two requests deleting the same order at once, the second deletes (and subtracts)
    nothing, and a status change that committed first is what gets subtracted.
    """
    if not order_ids:
        return set()
    chosen = table(OrderRow)
    statement = (
        delete(chosen)
        .where(chosen.c.organization_id == organization_id, chosen.c.id.in_(order_ids))
        .returning(
            chosen.c.id,
            *(raw(chosen.c[name], "") for name in COUNTED),
        )
    )
    removed = session.connection().execute(statement).all()
    by_key = Counter(count_key(row._asdict()) for row in removed)
    adjust_counts(session, organization_id, {key: -n for key, n in by_key.items()})
    _record_changes(
        session,
        (
            audit.event(organization_id, row.id, audit.DELETED, {"status": row.status})
            for row in removed
        ),
    )
    return {row.id for row in removed}


@dataclass(frozen=True)
class RecordChange:
    """What adding or changing a record (shipment, refund, return, note) writes of one order
    read under lock: the record rows (``inserts``: model and row; ``updates``: model, id and
    values), the statuses the records decide (``before`` as read, ``status_changes`` for its
    history), other columns of the order (``order_columns``: the refunded amount, the search
    text), quantities of its lines (by 0-based position), and the audit event."""

    order_id: str
    before: CountKey
    action: str
    details: Mapping[str, Any]
    inserts: Sequence[tuple[type[Base], Mapping[str, Any]]] = ()
    updates: Sequence[tuple[type[Base], str, Mapping[str, Any]]] = ()
    status_changes: Sequence[Change] = ()
    order_columns: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    line_quantities: Mapping[int, Mapping[str, int]] = dataclasses.field(default_factory=dict)
    history_source: str = ""
    actor: str | None = None  # for the audit trail, when not whoever the unit of work runs for

    @property
    def after(self) -> CountKey:
        values = dict(zip(COUNTED, self.before, strict=True))
        values.update({name: new for name, _, new in self.status_changes})
        return count_key(values)


def write_records(
    session: Session, organization_id: str, change: RecordChange, *, at: datetime
) -> None:
    """Write a ``RecordChange``: its records, the order's statuses, columns and ``updated``
    (every record changes the order's ETag), its lines' quantities, history for its status
    changes, the maintained counts and one audit event."""
    connection = session.connection()
    for model, row in change.inserts:
        connection.execute(insert(table(model)), [{"organization_id": organization_id, **row}])
    for model, record_id, values in change.updates:
        records = table(model)
        connection.execute(
            update(records)
            .where(records.c.organization_id == organization_id, records.c.id == record_id)
            .values(**values)
        )
    orders = table(OrderRow)
    columns: dict[str, Any] = {**change.order_columns, "updated": at}
    columns.update({name: new for name, _, new in change.status_changes})
    added = sum(
        {
            RECORD_BITS[kind]
            for kind, model in MODELS.items()
            for m, _ in change.inserts
            if m is model
        }
    )
    if added:
        columns["record_kinds"] = orders.c.record_kinds.op("|")(added)
    connection.execute(
        update(orders)
        .where(orders.c.organization_id == organization_id, orders.c.id == change.order_id)
        .values(**columns)
    )
    items = table(LineItemRow)
    for position, quantities in change.line_quantities.items():
        connection.execute(
            update(items)
            .where(
                items.c.organization_id == organization_id,
                items.c.order_id == change.order_id,
                items.c.position == position,
            )
            .values(**quantities)
        )
    _append_history(
        connection,
        organization_id,
        {change.order_id: change.status_changes},
        source=change.history_source,
        at=at,
    )
    if change.after != change.before:
        adjust_counts(session, organization_id, {change.before: -1, change.after: 1})
    _record_changes(
        session,
        [
            audit.event(
                organization_id,
                change.order_id,
                change.action,
                dict(change.details),
                actor=change.actor,
                at=at,
            )
        ],
    )


def searchable(search_text: str, numbers: Sequence[str]) -> str:
    """An order's search text with its tracking numbers."""
    return "\n".join([search_text, *(fold_for_search(number) for number in numbers)]).strip("\n")


def tracking_numbers(session: Session, organization_id: str, order_id: str) -> list[str]:
    """The tracking numbers of an order's parcels that were not cancelled (search finds the
    order by them)."""
    parcels = table(ShipmentRow).c
    query = select(parcels.tracking_number).where(
        parcels.organization_id == organization_id,
        parcels.order_id == order_id,
        parcels.tracking_number.is_not(None),
        parcels.status != ShipmentStatus.CANCELLED.value,
    )
    return list(session.scalars(query))
