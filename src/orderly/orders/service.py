"""The rules of orders: money, contacts, duplicates and status transitions.

Services flush, never commit (the request's session does), and raise ``OrderlyError``s.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum
from types import SimpleNamespace
from typing import Any, cast

from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from orderly.auth.models import Organization
from orderly.core import money
from orderly.core.contact import InvalidContact, normalize_email, normalize_phone
from orderly.core.db import utc_now
from orderly.core.errors import (
    Conflict,
    NotFound,
    OrderlyError,
    ValidationFailed,
    validation_details,
)
from orderly.core.ids import is_order_id, new_order_id
from orderly.core.text import fold_for_search
from orderly.orders import documents, repository
from orderly.orders.filters import ListQuery, Position
from orderly.orders.models import LineItem, Order, StatusChange
from orderly.orders.schemas import (
    BulkStatusItem,
    OrderContent,
    OrderCreate,
    OrderImport,
    OrderUpdate,
    StatusUpdate,
)
from orderly.orders.statuses import StatusField, is_allowed

MAX_BULK_ITEMS = 1000

# Who made a change, as recorded in status history.
SOURCE_API = "api"
SOURCE_BULK = "bulk"
SOURCE_IMPORT = "import"


class OrderNotFound(NotFound):
    message = "Order not found"


class DuplicateOrder(Conflict):
    message = "Order already exists"


class InvalidTransition(ValidationFailed):
    message = "Invalid status transition"


@dataclass
class BulkOutcome:
    succeeded: int = 0
    errors: dict[str, str] = field(default_factory=dict)
    ids: dict[str, str] | None = None

    @property
    def failed(self) -> int:
        return len(self.errors)


def describe_error(error: OrderlyError) -> str:
    """One line for a bulk item: the error and what it is about."""
    if not error.details:
        return error.message
    parts = ", ".join(f"{key}: {value}" for key, value in error.details.items())
    return f"{error.message} ({parts})"


def _check_bulk_size(items: Sequence[Any], name: str) -> None:
    if not items:
        raise ValidationFailed(details={name: "Send at least one item"})
    if len(items) > MAX_BULK_ITEMS:
        raise ValidationFailed(details={name: f"At most {MAX_BULK_ITEMS} items per request"})


# ---- content: money and contacts -------------------------------------------------------------


@dataclass
class _Content:
    """An order's content, checked and with its defaults filled in."""

    columns: dict[str, Any]
    line_items: list[dict[str, Any]]


def _prepare_content(
    organization: Organization,
    data: OrderContent,
    *,
    ingested: bool = False,
    phone_region: str | None = None,
) -> _Content:
    """Check money and contacts and fill in defaults. ``ingested`` orders are taken as sent:
    extra places are rounded, contacts that do not parse are kept as received. A phone without
    a country code is read in ``phone_region``, else the organization's country."""
    errors: dict[str, str] = {}
    currency = data.currency

    def amount(path: str, value: Decimal | None) -> Decimal:
        if value is None:
            return Decimal(0)
        if ingested:
            return money.quantize(value, currency)
        if not money.fits_currency(value, currency):
            places = money.currency_places(currency)
            errors[path] = f"{currency} amounts have at most {places} decimal places"
        return value

    line_items: list[dict[str, Any]] = []
    line_totals: list[Decimal] = []
    for index, item in enumerate(data.products):
        price = amount(f"products.{index}.price", item.price)
        total = (
            amount(f"products.{index}.total", item.total)
            if item.total is not None
            else price * item.quantity
        )
        line_totals.append(total)
        line_items.append(
            {
                "position": index,
                "product_id": item.product_id,
                "name": item.name,
                "quantity": item.quantity,
                "price": price,
                "total": total,
            }
        )
    subtotal = (
        amount("subtotal", data.subtotal)
        if data.subtotal is not None
        else sum(line_totals, Decimal(0))
    )

    email = phone = None
    if data.customer_email:
        try:
            email = normalize_email(data.customer_email)
        except InvalidContact as exc:
            email = data.customer_email if ingested else None
            if not ingested:
                errors["customer_email"] = str(exc)
    if data.customer_phone:
        try:
            phone = normalize_phone(
                data.customer_phone, phone_region or organization.default_country
            )
        except InvalidContact as exc:
            phone = data.customer_phone if ingested else None
            if not ingested:
                errors["customer_phone"] = str(exc)

    columns = {
        "source": data.source,
        "external_id": data.external_id,
        "external_number": data.external_number,
        "customer_name": data.customer_name or None,
        "customer_email": email,
        "customer_phone": phone,
        "subtotal": subtotal,
        "discount": amount("discount", data.discount),
        "tax": amount("tax", data.tax),
        "delivery_fee": amount("delivery_fee", data.delivery_fee),
        "total_amount": amount("total_amount", data.total_amount),
        "currency": currency,
        "notes": data.notes,
        "meta": data.meta or {},
    }
    if subtotal >= money.MAX_AMOUNT:
        errors["subtotal"] = "Sum of line totals is too large"
    if errors:
        raise ValidationFailed(details=errors)
    columns["search_text"] = search_text(columns)
    return _Content(columns=columns, line_items=line_items)


def search_text(columns: dict[str, Any]) -> str:
    parts = (
        columns.get(name)
        for name in (
            "customer_name",
            "customer_email",
            "customer_phone",
            "external_id",
            "external_number",
        )
    )
    return fold_for_search("\n".join(p for p in parts if p))


# ---- status changes --------------------------------------------------------------------------


def _planned_changes(
    order: Order | SimpleNamespace, wanted: StatusUpdate | OrderUpdate
) -> list[tuple[StatusField, str, str]]:
    """The status changes ``wanted`` makes to ``order``, or ``InvalidTransition``."""
    changes = []
    for status_field in StatusField:
        new = getattr(wanted, status_field.value)
        if new is None:
            continue
        current = getattr(order, status_field.value)
        if not is_allowed(status_field, current, new):
            raise InvalidTransition(
                details={"field": status_field.value, "from": str(current), "to": str(new)}
            )
        if new != current:
            changes.append((status_field, str(current), str(new)))
    return changes


def _apply_changes(
    order: Order, changes: list[tuple[StatusField, str, str]], source: str, now: datetime
) -> None:
    seq = len(order.status_history)
    for status_field, old, new in changes:
        setattr(order, status_field.value, new)
        seq += 1
        order.status_history.append(
            StatusChange(
                organization_id=order.organization_id,
                order_id=order.id,
                seq=seq,
                field=status_field.value,
                from_value=old,
                to_value=new,
                at=now,
                source=source,
            )
        )
    if changes:
        order.updated = now


# ---- create ----------------------------------------------------------------------------------


@dataclass
class _NewOrder:
    row: dict[str, Any]
    line_items: list[dict[str, Any]]
    history: list[dict[str, Any]]

    @property
    def external_key(self) -> tuple[str, str] | None:
        external_id = self.row["external_id"]
        return None if external_id is None else (self.row["source"], external_id)


def _new_order(
    organization: Organization,
    data: OrderCreate,
    change_source: str,
    now: datetime,
    *,
    phone_region: str | None = None,
) -> _NewOrder:
    ingested = isinstance(data, OrderImport)
    content = _prepare_content(organization, data, ingested=ingested, phone_region=phone_region)
    order_id = new_order_id()
    keys = {"organization_id": organization.id, "order_id": order_id}
    created = data.created or now
    statuses = {
        StatusField.STATUS: data.status,
        StatusField.PAYMENT_STATUS: data.payment_status,
        StatusField.FULFILLMENT_STATUS: data.fulfillment_status,
    }
    row = {
        "organization_id": organization.id,
        "id": order_id,
        **content.columns,
        **{f.value: value for f, value in statuses.items()},
        "created": created,
        "updated": (data.updated if isinstance(data, OrderImport) else None) or now,
    }
    if isinstance(data, OrderImport) and data.status_history:
        # An imported order brings its own history (a backup restored keeps its past).
        history = [
            {
                **keys,
                "seq": seq,
                "field": entry.field.value,
                "from_value": entry.from_,
                "to_value": entry.to,
                "at": entry.at,
                "source": entry.source,
            }
            for seq, entry in enumerate(data.status_history, start=1)
        ]
    else:
        history = [
            {
                **keys,
                "seq": seq,
                "field": f.value,
                "from_value": None,
                "to_value": value.value,
                "at": now,
                "source": change_source,
            }
            for seq, (f, value) in enumerate(statuses.items(), start=1)
        ]
    items = [{**keys, **item} for item in content.line_items]
    return _NewOrder(row=row, line_items=items, history=history)


def _insert(session: Session, new_orders: list[_NewOrder]) -> None:
    repository.insert_orders(
        session,
        [o.row for o in new_orders],
        [item for o in new_orders for item in o.line_items],
        [entry for o in new_orders for entry in o.history],
    )


def create_order(
    session: Session,
    organization: Organization,
    data: OrderCreate,
    *,
    change_source: str = SOURCE_API,
) -> str:
    """Insert a new order; returns its id."""
    new = _new_order(organization, data, change_source, utc_now())
    key = new.external_key
    if key is None:  # nothing unique to collide with: no savepoint needed
        _insert(session, [new])
        return str(new.row["id"])
    _refuse_duplicate(session, organization, key)
    try:
        with session.begin_nested():
            _insert(session, [new])
    except IntegrityError:
        # Another request created the same external order between our check and insert.
        _refuse_duplicate(session, organization, key)
        raise
    return str(new.row["id"])


def _refuse_duplicate(session: Session, organization: Organization, key: tuple[str, str]) -> None:
    existing = repository.find_by_external_ids(session, organization.id, [key])
    if key in existing:
        raise DuplicateOrder(details={"id": existing[key], "source": key[0], "external_id": key[1]})


def bulk_create(session: Session, organization: Organization, items: Sequence[Any]) -> BulkOutcome:
    """Create each valid item; the others are reported by their index."""
    _check_bulk_size(items, "body")
    outcome = BulkOutcome(ids={})
    now = utc_now()
    candidates: dict[int, _NewOrder] = {}
    for index, raw in enumerate(items):
        try:
            data = OrderCreate.model_validate(raw)
            candidates[index] = _new_order(organization, data, SOURCE_BULK, now)
        except ValidationError as exc:
            details = validation_details(exc.errors())
            outcome.errors[str(index)] = describe_error(ValidationFailed(details=details))
        except OrderlyError as exc:
            outcome.errors[str(index)] = describe_error(exc)

    keys = [key for new in candidates.values() if (key := new.external_key) is not None]
    existing = repository.find_by_external_ids(session, organization.id, keys)
    seen: dict[tuple[str, str], int] = {}
    accepted: dict[int, _NewOrder] = {}
    for index, new in candidates.items():
        key = new.external_key
        if key is not None and key in existing:
            outcome.errors[str(index)] = describe_error(
                DuplicateOrder(details={"id": existing[key]})
            )
        elif key is not None and key in seen:
            outcome.errors[str(index)] = f"Duplicate of item {seen[key]} in this request"
        else:
            if key is not None:
                seen[key] = index
            accepted[index] = new

    try:
        with session.begin_nested():
            _insert(session, list(accepted.values()))
    except IntegrityError:
        # A concurrent writer took some external ids: fall back to one savepoint per order.
        for index, new in list(accepted.items()):
            try:
                with session.begin_nested():
                    _insert(session, [new])
            except IntegrityError:
                outcome.errors[str(index)] = DuplicateOrder.message
                del accepted[index]

    assert outcome.ids is not None
    for index, new in sorted(accepted.items()):
        outcome.ids[str(index)] = new.row["id"]
    outcome.succeeded = len(accepted)
    outcome.errors = dict(sorted(outcome.errors.items(), key=lambda kv: int(kv[0])))
    return outcome


# ---- import -----------------------------------------------------------------------------------


def _import_candidates(
    session: Session,
    organization: Organization,
    records: Sequence[tuple[int, Any]],
    seen: set[tuple[str, str]],
) -> tuple[list[_NewOrder], dict[int, str]]:
    """Imported records as new orders, or errors by row number (external ids seen earlier in
    the same import are in ``seen``, and are added to it)."""
    now = utc_now()
    candidates: list[tuple[int, _NewOrder]] = []
    errors: dict[int, str] = {}
    for row, raw in records:
        try:
            candidates.append(
                (row, _new_order(organization, OrderImport.model_validate(raw), SOURCE_IMPORT, now))
            )
        except ValidationError as exc:
            errors[row] = describe_error(ValidationFailed(details=validation_details(exc.errors())))
        except OrderlyError as exc:
            errors[row] = describe_error(exc)
    keys = [key for _, new in candidates if (key := new.external_key) is not None]
    existing = repository.find_by_external_ids(session, organization.id, keys)
    accepted = []
    for row, new in candidates:
        key = new.external_key
        if key is not None and key in existing:
            errors[row] = describe_error(DuplicateOrder(details={"id": existing[key]}))
        elif key is not None and key in seen:
            errors[row] = "Duplicate of an earlier row (same source and external_id)"
        else:
            if key is not None:
                seen.add(key)
            accepted.append(new)
    return accepted, errors


def check_import(
    session: Session,
    organization: Organization,
    records: Sequence[tuple[int, Any]],
    seen: set[tuple[str, str]],
) -> dict[int, str]:
    """What is wrong with a batch of imported records, by row number; writes nothing."""
    return _import_candidates(session, organization, records, seen)[1]


def import_batch(
    session: Session,
    organization: Organization,
    records: Sequence[tuple[int, Any]],
    seen: set[tuple[str, str]],
) -> int:
    """Insert a batch of records that ``check_import`` found sound; returns how many."""
    accepted, errors = _import_candidates(session, organization, records, seen)
    if errors:
        raise ValidationFailed("Import failed", {str(row): e for row, e in errors.items()})
    _insert(session, accepted)
    return len(accepted)


# ---- ingest: a platform's order, created or brought up to date -----------------------------------


class IngestOutcome(StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    STALE = "stale"


@dataclass(frozen=True)
class Ingested:
    order_id: str
    outcome: IngestOutcome


@dataclass(frozen=True)
class IngestRequest:
    """A platform's order: ``data`` as sent, which of its statuses the platform state tells
    (``known``), the platform's own time of that state, and the country its phone is from."""

    data: OrderImport
    known: frozenset[StatusField]
    platform_updated: datetime | None = None
    phone_region: str | None = None

    @property
    def key(self) -> tuple[str, str]:
        assert self.data.external_id is not None
        return self.data.source, self.data.external_id


def _new_ingested(organization: Organization, request: IngestRequest, now: datetime) -> _NewOrder:
    """A platform's order new to the organization; its history is the platform's."""
    new = _new_order(
        organization, request.data, request.data.source, now, phone_region=request.phone_region
    )
    new.row["source_updated"] = request.platform_updated
    return new


def ingest_order(session: Session, organization: Organization, request: IngestRequest) -> Ingested:
    """Upsert by (organization, source, external id) an order as its platform sent it.

    Statuses in ``known`` are applied as the platform says (the transition rules bind the
    API, not the platform); the others keep their stored values. An event older than the
    state already held (by the platform's own time) changes nothing; one that says what the
    order already says changes nothing either, so re-deliveries leave no trace.
    """
    data, known = request.data, request.known
    platform_updated, phone_region = request.platform_updated, request.phone_region
    assert data.external_id is not None
    change_source = data.source
    order = repository.find_by_external_id(session, organization.id, data.source, data.external_id)
    if order is None:
        new = _new_ingested(organization, request, utc_now())
        try:
            with session.begin_nested():
                _insert(session, [new])
            return Ingested(new.row["id"], IngestOutcome.CREATED)
        except IntegrityError:
            # A concurrent delivery created it first: bring that one up to date instead.
            order = repository.find_by_external_id(
                session, organization.id, data.source, data.external_id
            )
            if order is None:
                raise
    if platform_updated and order.source_updated and platform_updated < order.source_updated:
        return Ingested(order.id, IngestOutcome.STALE)

    now = utc_now()
    content = _prepare_content(organization, data, ingested=True, phone_region=phone_region)
    columns = {**content.columns, "meta": {**order.meta, **content.columns["meta"]}}
    if data.created is not None:
        columns["created"] = data.created
    changed = False
    for name, value in columns.items():
        if getattr(order, name) != value:
            setattr(order, name, value)
            changed = True
    if _line_values(order.products) != _line_values(content.line_items):
        _replace_line_items(session, order, content.line_items)
        changed = True
    counted_as = repository.count_key(order)
    changes = [
        (status_field, str(current), str(new_value))
        for status_field in StatusField
        if status_field in known
        and (new_value := getattr(data, status_field.value))
        != (current := getattr(order, status_field.value))
    ]
    _apply_changes(order, changes, change_source, now)
    repository.record_count_change(
        session, organization.id, counted_as, repository.count_key(order)
    )
    if platform_updated and (
        order.source_updated is None or platform_updated > order.source_updated
    ):
        order.source_updated = platform_updated
    if changed:
        order.updated = now
    session.flush()
    outcome = IngestOutcome.UPDATED if changed or changes else IngestOutcome.UNCHANGED
    return Ingested(order.id, outcome)


def ingest_orders(
    session: Session, organization: Organization, requests: Sequence[IngestRequest]
) -> list[Ingested | OrderlyError]:
    """``ingest_order`` for many at once, in order: orders new to the organization are
    inserted together (three statements for all), the others upserted one by one. A request
    that cannot be taken gets its error in its place; the others go on."""
    results: list[Ingested | OrderlyError | None] = [None] * len(requests)
    existing = repository.find_by_external_ids(session, organization.id, [r.key for r in requests])
    now = utc_now()
    fresh: dict[int, _NewOrder] = {}
    one_by_one: list[int] = []
    for index, request in enumerate(requests):
        if request.key in existing:
            one_by_one.append(index)  # also a later event of an order new in this batch
            continue
        try:
            new = _new_ingested(organization, request, now)
        except OrderlyError as exc:
            results[index] = exc
            continue
        fresh[index] = new
        existing[request.key] = new.row["id"]
    try:
        with session.begin_nested():
            _insert(session, list(fresh.values()))
        for index, new in fresh.items():
            results[index] = Ingested(new.row["id"], IngestOutcome.CREATED)
    except IntegrityError:
        # Another writer took some of these external ids meanwhile: each finds its order.
        one_by_one = sorted(one_by_one + list(fresh))
    for index in one_by_one:
        try:
            results[index] = ingest_order(session, organization, requests[index])
        except OrderlyError as exc:
            results[index] = exc
    assert all(result is not None for result in results)
    return cast(list[Ingested | OrderlyError], results)


def _line_values(items: Sequence[LineItem | dict[str, Any]]) -> list[tuple[Any, ...]]:
    names = ("product_id", "name", "quantity", "price", "total")
    return [
        tuple(item[n] if isinstance(item, dict) else getattr(item, n) for n in names)
        for item in items
    ]


# ---- read ------------------------------------------------------------------------------------


def get_order(
    session: Session, organization: Organization, order_id: str, *, for_update: bool = False
) -> Order:
    order = None
    if is_order_id(order_id):
        order = repository.get_order(session, organization.id, order_id, for_update=for_update)
    if order is None:
        raise OrderNotFound(details={"id": order_id})
    return order


def get_document(session: Session, organization: Organization, order_id: str) -> dict[str, Any]:
    """The order as ``GET /orders/{id}`` shows it, with its status history."""
    rows = (
        repository.order_rows(session, organization.id, [order_id], documents.ORDER_COLUMNS)
        if is_order_id(order_id)
        else []
    )
    if not rows:
        raise OrderNotFound(details={"id": order_id})
    return documents.build(session, organization.id, rows, history=True)[0]


@dataclass
class OrderPage:
    orders: list[dict[str, Any]]  # documents, as the list shows them
    total: int
    next: Position | None  # where the next page starts, when there is one


def _sort_value(row: Any, sort_field: str) -> Any:
    """The value a keyset cursor holds, from a plain row (see ``repository._raw``)."""
    value = getattr(row, sort_field)
    if sort_field in ("created", "updated"):
        return datetime.fromisoformat(value).replace(tzinfo=UTC)
    if sort_field == "total_amount":
        return money.from_storage(value)
    return value


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
        position = Position(sort=query.sort, value=_sort_value(last, query.sort_field), id=last.id)
    page = documents.build(session, organization.id, rows, history=False)
    return OrderPage(orders=page, total=total, next=position)


# ---- update ----------------------------------------------------------------------------------


def _replace_line_items(session: Session, order: Order, line_items: list[dict[str, Any]]) -> None:
    # Line items are keyed by position: drop the old rows before the new ones take their keys.
    order.products.clear()
    session.flush()
    order.products.extend(
        LineItem(organization_id=order.organization_id, order_id=order.id, **item)
        for item in line_items
    )


def replace_order(
    session: Session, organization: Organization, order_id: str, data: OrderUpdate
) -> Order:
    order = get_order(session, organization, order_id, for_update=True)
    counted_as = repository.count_key(order)
    changes = _planned_changes(order, data)
    content = _prepare_content(organization, data)
    key = (content.columns["source"], content.columns["external_id"])
    if key[1] is not None and (key[0], key[1]) != (order.source, order.external_id):
        _refuse_duplicate(session, organization, key)

    now = utc_now()
    for name, value in content.columns.items():
        setattr(order, name, value)
    if data.created is not None:
        order.created = data.created
    _replace_line_items(session, order, content.line_items)
    _apply_changes(order, changes, SOURCE_API, now)
    order.updated = now
    repository.record_count_change(
        session, organization.id, counted_as, repository.count_key(order)
    )
    session.flush()
    return order


def _status_plan(current: SimpleNamespace, wanted: StatusUpdate) -> repository.StatusPlan:
    """What ``wanted`` changes of an order in state ``current`` (statuses, source, id), or
    ``InvalidTransition``; ``current`` is moved to the new state (for a later item of a bulk
    request that names the same order)."""
    changes = [(f.value, old, new) for f, old, new in _planned_changes(current, wanted)]
    before = repository.count_key(vars(current))
    for name, _, new in changes:
        setattr(current, name, new)
    return repository.StatusPlan(order_id=current.id, before=before, changes=changes)


def _locked_states(
    session: Session, organization: Organization, order_ids: Sequence[str]
) -> dict[str, SimpleNamespace]:
    """The statuses and source of these orders, locked until the transaction ends."""
    wanted = [order_id for order_id in dict.fromkeys(order_ids) if is_order_id(order_id)]
    if not wanted:
        return {}
    rows = repository.order_rows(
        session, organization.id, wanted, repository.STATUS_COLUMNS, lock=True
    )
    return {row.id: SimpleNamespace(**row._asdict()) for row in rows}


def change_status(
    session: Session, organization: Organization, order_id: str, data: StatusUpdate
) -> str:
    """Change an order's statuses as the transition table allows; returns its id."""
    current = _locked_states(session, organization, [order_id]).get(order_id)
    if current is None:
        raise OrderNotFound(details={"id": order_id})
    plan = _status_plan(current, data)
    repository.change_statuses(session, organization.id, [plan], source=SOURCE_API, at=utc_now())
    return order_id


def bulk_change_status(
    session: Session, organization: Organization, updates: Sequence[Any]
) -> BulkOutcome:
    _check_bulk_size(updates, "updates")
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
        try:
            plans.append(_status_plan(current, item))
        except InvalidTransition as exc:
            outcome.errors[order_id] = describe_error(exc)
            continue
        outcome.succeeded += 1
    repository.change_statuses(session, organization.id, plans, source=SOURCE_BULK, at=utc_now())
    return outcome


# ---- delete ----------------------------------------------------------------------------------


def delete_order(session: Session, organization: Organization, order_id: str) -> None:
    if not is_order_id(order_id) or not repository.delete_orders(
        session, organization.id, [order_id]
    ):
        raise OrderNotFound(details={"id": order_id})


def bulk_delete(session: Session, organization: Organization, ids: Sequence[str]) -> BulkOutcome:
    _check_bulk_size(ids, "ids")
    unique_ids = list(dict.fromkeys(ids))  # naming an order twice deletes it once
    deleted = repository.delete_orders(
        session, organization.id, [i for i in unique_ids if is_order_id(i)]
    )
    outcome = BulkOutcome(succeeded=len(deleted))
    for order_id in unique_ids:
        if order_id not in deleted:
            outcome.errors[order_id] = OrderNotFound.message
    return outcome
