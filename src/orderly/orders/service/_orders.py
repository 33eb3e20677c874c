"""Orders through the API: create (one and bulk), read, replace, status changes, delete."""

from collections.abc import Sequence
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from orderly.auth.models import Organization
from orderly.core.db import utc_now
from orderly.core.errors import (
    ValidationFailed,
    validation_details,
)
from orderly.core.ids import is_order_id
from orderly.events import service as events
from orderly.orders import documents, plain, repository
from orderly.orders.filters import ListQuery, Position
from orderly.orders.models import OrderRow
from orderly.orders.schemas import (
    BulkStatusItem,
    OrderCreate,
    OrderUpdate,
    StatusUpdate,
)
from orderly.orders.service import _intake
from orderly.orders.service._common import (
    SOURCE_API,
    SOURCE_BULK,
    BulkOutcome,
    DerivedStatus,
    DuplicateOrder,
    InvalidTransition,
    OrderChanged,
    OrderNotFound,
    check_bulk_size,
    check_if_match,
    describe_error,
)
from orderly.orders.service._content import prepare_content
from orderly.orders.service._intake import insert, new_order
from orderly.orders.statuses import OrderStatus, StatusField, is_allowed

# Which status each kind of record decides, once an order has one (docs/api.md).
_DECIDED_BY = {
    StatusField.FULFILLMENT_STATUS: repository.Kind.SHIPMENT,
    StatusField.PAYMENT_STATUS: repository.Kind.REFUND,
}


def decided_statuses(record_kinds: int) -> set[StatusField]:
    """The statuses an order's records decide (from its ``record_kinds``)."""
    held = repository.kinds_in(record_kinds)
    return {status_field for status_field, kind in _DECIDED_BY.items() if kind in held}


def planned_changes(
    order: OrderRow | SimpleNamespace,
    wanted: StatusUpdate | OrderUpdate,
    decided: set[StatusField] | frozenset[StatusField] = frozenset(),
) -> list[tuple[StatusField, str, str]]:
    """The status changes ``wanted`` makes to ``order``, or ``InvalidTransition``; a status
    its records decide (``decided``) may only be sent as it is."""
    changes = []
    for status_field in StatusField:
        new = getattr(wanted, status_field.value)
        if new is None:
            continue
        current = getattr(order, status_field.value)
        if status_field in decided and new != current:
            records = "shipments" if status_field == StatusField.FULFILLMENT_STATUS else "refunds"
            raise DerivedStatus(
                details={
                    status_field.value: f"The order has {records}: {status_field.value} follows"
                    f" from them (it is {current})"
                }
            )
        if not is_allowed(status_field, current, new):
            raise InvalidTransition(
                details={"field": status_field.value, "from": str(current), "to": str(new)}
            )
        if new != current:
            changes.append((status_field, str(current), str(new)))
    return changes


def changed_columns(order: OrderRow, columns: dict[str, Any]) -> dict[str, Any]:
    """The ``columns`` whose values differ from what ``order`` holds (as read under lock)."""
    return {name: value for name, value in columns.items() if getattr(order, name) != value}


def status_columns(changes: Sequence[tuple[StatusField, str, str]]) -> dict[str, str]:
    return {status_field.value: new for status_field, _, new in changes}


def history_changes(changes: Sequence[tuple[StatusField, str, str]]) -> list[repository.Change]:
    return [(status_field.value, old, new) for status_field, old, new in changes]


def create_order(
    session: Session,
    organization: Organization,
    data: OrderCreate,
    *,
    change_source: str = SOURCE_API,
) -> str:
    """Insert a new order; returns its id."""
    new = new_order(organization, data, change_source, utc_now())
    key = new.external_key
    if key is None:  # nothing unique to collide with: no savepoint needed
        insert(session, [new])
        return str(new.row["id"])
    refuse_duplicate(session, organization, key)
    try:
        with session.begin_nested():
            insert(session, [new])
    except IntegrityError:
        # Another request created the same external order between our check and insert.
        refuse_duplicate(session, organization, key)
        raise
    return str(new.row["id"])


def refuse_duplicate(session: Session, organization: Organization, key: tuple[str, str]) -> None:
    existing = repository.find_by_external_ids(session, organization.id, [key])
    if key in existing:
        raise DuplicateOrder(details={"id": existing[key], "source": key[0], "external_id": key[1]})


def bulk_create(session: Session, organization: Organization, items: Sequence[Any]) -> BulkOutcome:
    """Create each valid item; the others are reported by their index."""
    check_bulk_size(items, "body")
    now = utc_now()
    candidates, errors = _intake.prepare(
        enumerate(items),
        lambda raw: new_order(organization, OrderCreate.model_validate(raw), SOURCE_BULK, now),
    )
    sorted_out = _intake.sort_out(session, organization.id, candidates)
    for index, order_id in sorted_out.existing.items():
        errors[index] = describe_error(DuplicateOrder(details={"id": order_id}))
    for index, first in sorted_out.repeated.items():
        errors[index] = f"Duplicate of item {first} in this request"
    for index in _intake.insert_together(session, sorted_out.new):
        errors[index] = DuplicateOrder.message
        del sorted_out.new[index]
    return BulkOutcome(
        succeeded=len(sorted_out.new),
        errors={str(index): errors[index] for index in sorted(errors)},
        ids={str(index): new.row["id"] for index, new in sorted(sorted_out.new.items())},
    )


def get_document(session: Session, organization: Organization, order_id: str) -> dict[str, Any]:
    """The order as ``GET /orders/{id}`` shows it, with its status history."""
    rows = (
        repository.order_rows(session, organization.id, [order_id], documents.ORDER_COLUMNS)
        if is_order_id(order_id)
        else []
    )
    if not rows:
        raise OrderNotFound(details={"id": order_id})
    document = documents.build(session, organization.id, rows, history=True)[0]
    events.remember_document(session, order_id, document)
    return document


@dataclass
class OrderPage:
    orders: list[dict[str, Any]]  # documents, as the list shows them
    total: int
    next: Position | None  # where the next page starts, when there is one


def list_orders(session: Session, organization: Organization, query: ListQuery) -> OrderPage:
    after = query.after
    offset = 0 if after is not None else (query.page - 1) * query.limit
    # One row more than asked for tells whether another page follows.
    rows = repository.list_order_rows(
        session,
        organization.id,
        query,
        documents.ORDER_COLUMNS,
        offset=offset,
        limit=query.limit + 1,
        after=after,
    )
    total = repository.count_orders(session, organization.id, query)
    position = None
    if len(rows) > query.limit:
        rows = rows[: query.limit]
        last = rows[-1]
        position = Position(
            sort=query.sort, value=plain.cursor_value(last, query.sort_field), id=last.id
        )
    page = documents.build(session, organization.id, rows, history=False)
    return OrderPage(orders=page, total=total, next=position)


def channels(session: Session, organization: Organization) -> list[str]:
    """The sources the organization has orders from, by name (the list's channel filter)."""
    return repository.sources_of(session, organization.id)


def counts_by_status(session: Session, organization: Organization) -> dict[str, int]:
    """Orders per status (every status present, zeros included) and in all (``""``)."""
    counts = repository.counts_by_status(session, organization.id)
    by_status = {status.value: counts.get(status.value, 0) for status in OrderStatus}
    return {"": sum(by_status.values()), **by_status}


def replace_order(
    session: Session,
    organization: Organization,
    order_id: str,
    data: OrderUpdate,
    if_match: str | None = None,
) -> str:
    """Replace an order's content (statuses left out keep theirs); returns its id."""
    order = (
        repository.get_order(session, organization.id, order_id) if is_order_id(order_id) else None
    )
    if order is None:
        raise OrderNotFound(details={"id": order_id})
    check_if_match(if_match, order.updated)
    changes = planned_changes(order, data, decided_statuses(order.record_kinds))
    content = prepare_content(organization, data)
    key = (content.columns["source"], content.columns["external_id"])
    if key[1] is not None and (key[0], key[1]) != (order.source, order.external_id):
        refuse_duplicate(session, organization, key)

    now = utc_now()
    columns = {**content.columns, **status_columns(changes)}
    if data.created is not None:
        columns["created"] = data.created
    revision = repository.Revision(
        order_id=order.id,
        before=repository.count_key(order),
        columns={**changed_columns(order, columns), "updated": now},
        status_changes=history_changes(changes),
        line_items=_replaced_lines(order, content.line_items),
        history_source=SOURCE_API,
    )
    repository.revise(session, organization.id, revision, at=now)
    return order_id


_LINE_CONTENT = ("product_id", "name", "quantity", "price", "total")


def _replaced_lines(order: OrderRow, new: list[dict[str, Any]]) -> list[dict[str, Any]] | None:
    """PUT replaces the line items whole, unless the order has shipments, refunds or returns:
    those name its lines, so they are kept when sent unchanged and refused otherwise."""
    kept = [tuple(getattr(item, n) for n in _LINE_CONTENT) for item in order.products]
    if kept == [tuple(item[n] for n in _LINE_CONTENT) for item in new]:
        return None
    naming = [k for k in repository.kinds_in(order.record_kinds) if k != repository.Kind.NOTE]
    if naming:
        raise ValidationFailed(
            details={
                "products": f"The order has {naming[0].value}s, which name its lines: its"
                " products can only be sent as they are"
            }
        )
    return new


def _status_plan(
    current: SimpleNamespace,
    wanted: StatusUpdate,
    decided: set[StatusField] | frozenset[StatusField] = frozenset(),
) -> repository.StatusPlan:
    """What ``wanted`` changes of an order in state ``current`` (statuses, source, id), or
    ``InvalidTransition``; ``current`` is moved to the new state (for a later item of a bulk
    request that names the same order)."""
    changes = history_changes(planned_changes(current, wanted, decided))
    before = repository.count_key(vars(current))
    for name, _, new in changes:
        setattr(current, name, new)
    return repository.StatusPlan(order_id=current.id, before=before, changes=changes)


_LOCKED_COLUMNS = (*repository.STATUS_COLUMNS, "updated", "record_kinds")


def _locked_states(
    session: Session, organization: Organization, order_ids: Sequence[str]
) -> dict[str, SimpleNamespace]:
    """The statuses, source and ``updated`` of these orders, locked until the transaction
    ends."""
    wanted = [order_id for order_id in dict.fromkeys(order_ids) if is_order_id(order_id)]
    if not wanted:
        return {}
    rows = repository.order_rows(session, organization.id, wanted, _LOCKED_COLUMNS, lock=True)
    return {row.id: SimpleNamespace(**row._asdict()) for row in rows}


def change_status(
    session: Session,
    organization: Organization,
    order_id: str,
    data: StatusUpdate,
    if_match: str | None = None,
    *,
    change_source: str = SOURCE_API,
) -> str:
    """Change an order's statuses as the transition table allows; returns its id.
    ``change_source`` names who in the order's history (the dashboard names the person)."""
    current = _locked_states(session, organization, [order_id]).get(order_id)
    if current is None:
        raise OrderNotFound(details={"id": order_id})
    check_if_match(if_match, current.updated)
    plan = _status_plan(current, data, decided_statuses(current.record_kinds))
    repository.change_statuses(session, organization.id, [plan], source=change_source, at=utc_now())
    return order_id


def bulk_change_status(
    session: Session,
    organization: Organization,
    updates: Sequence[Any],
    *,
    change_source: str = SOURCE_BULK,
) -> BulkOutcome:
    """Each item's change as ``change_status`` makes it; an item that cannot be made fails
    alone. ``change_source`` names who in the orders' histories."""
    check_bulk_size(updates, "updates")
    outcome = BulkOutcome()
    parsed: list[tuple[str, BulkStatusItem]] = []
    for index, raw in enumerate(updates):
        key = raw.get("id") if isinstance(raw, dict) and isinstance(raw.get("id"), str) else None
        try:
            item = BulkStatusItem.model_validate(raw)
            parsed.append((item.id, item))
        except ValidationError as exc:
            error = ValidationFailed(details=validation_details(exc.errors()))
            outcome.errors[key or str(index)] = describe_error(error)

    states = _locked_states(session, organization, [order_id for order_id, _ in parsed])
    plans = []
    for order_id, item in parsed:
        current = states.get(order_id)
        if current is None:
            outcome.errors[order_id] = OrderNotFound.message
            continue
        if item.updated is not None and item.updated != plain.cursor_value(current, "updated"):
            changed = OrderChanged(details={"updated": plain.time_text(current.updated)})
            outcome.errors[order_id] = describe_error(changed)
            continue
        try:
            plans.append(_status_plan(current, item, decided_statuses(current.record_kinds)))
        except (InvalidTransition, DerivedStatus) as exc:
            outcome.errors[order_id] = describe_error(exc)
            continue
        outcome.succeeded += 1
    repository.change_statuses(session, organization.id, plans, source=change_source, at=utc_now())
    return outcome


def delete_order(
    session: Session, organization: Organization, order_id: str, if_match: str | None = None
) -> None:
    if if_match is not None:
        current = _locked_states(session, organization, [order_id]).get(order_id)
        if current is None:
            raise OrderNotFound(details={"id": order_id})
        check_if_match(if_match, current.updated)
    if not is_order_id(order_id) or not repository.delete_orders(
        session, organization.id, [order_id]
    ):
        raise OrderNotFound(details={"id": order_id})


def bulk_delete(session: Session, organization: Organization, ids: Sequence[str]) -> BulkOutcome:
    check_bulk_size(ids, "ids")
    unique_ids = list(dict.fromkeys(ids))  # naming an order twice deletes it once
    deleted = repository.delete_orders(
        session, organization.id, [i for i in unique_ids if is_order_id(i)]
    )
    outcome = BulkOutcome(succeeded=len(deleted))
    for order_id in unique_ids:
        if order_id not in deleted:
            outcome.errors[order_id] = OrderNotFound.message
    return outcome
