"""Every query on orders, line items and status history. Each one leads with organization_id."""

import random
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any, cast

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Enum,
    Integer,
    Numeric,
    Row,
    String,
    Table,
    and_,
    bindparam,
    case,
    column,
    delete,
    event,
    func,
    insert,
    inspect,
    literal,
    literal_column,
    or_,
    select,
    text,
    tuple_,
    type_coerce,
    update,
)
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from orderly.audit import service as audit
from orderly.core import money
from orderly.core.db import Base, Money, UTCDateTime
from orderly.core.direct import DirectQuery
from orderly.core.text import fold_for_search, like_pattern
from orderly.orders.filters import OrderFilters, Position
from orderly.orders.models import LineItemRow, OrderCount, OrderRow, StatusChange


def _table(model: type[Base]) -> Table:
    return cast(Table, model.__table__)


def _dialect(session: Session) -> str:
    return session.get_bind().dialect.name


# Trigram indexes (FTS5 on SQLite, pg_trgm on PostgreSQL) serve searches of 3+ characters.
_TRIGRAM = 3
_SQLITE_SEARCH = text("SELECT rowid FROM orders_search WHERE orders_search MATCH :phrase").columns(
    column("rowid")
)
_ORDERS = _table(OrderRow).c


# Filters that choose among a column's values: (query parameter, column). The maintained counts
# have the same columns, so they serve these filters' totals.
_VALUE_FILTERS = (
    ("statuses", "status"),
    ("payment_statuses", "payment_status"),
    ("fulfillment_statuses", "fulfillment_status"),
    ("sources", "source"),
)


def _chosen_values(organization_id: str, filters: OrderFilters) -> dict[str, Any]:
    values: dict[str, Any] = {"organization_id": organization_id}
    for name, _ in _VALUE_FILTERS:
        if chosen := getattr(filters, name):
            values[name] = chosen
    return values


def _value_conditions(columns: Any, names: Iterable[str]) -> list[ColumnElement[bool]]:
    return [
        columns[column].in_(bindparam(name, expanding=True))
        for name, column in _VALUE_FILTERS
        if name in names
    ]


@dataclass(frozen=True)
class Filtered:
    """A filtered list's WHERE clause with its values apart: ``shape`` says which conditions
    apply (and so which cached statement serves them), ``values`` are bound at execution."""

    shape: tuple[Any, ...]
    values: dict[str, Any]


def filtered(
    organization_id: str, filters: OrderFilters, dialect: str, after: Position | None = None
) -> Filtered:
    """The filters of a list or export (and the keyset position to continue after)."""
    values = _chosen_values(organization_id, filters)
    if (created_from := filters.created_from_at) is not None:
        values["created_from"] = created_from
    if (created_to := filters.created_to_at) is not None:
        values["created_to"] = created_to
    search = None
    if filters.search and (needle := fold_for_search(filters.search.strip())):
        if dialect == "sqlite" and len(needle) >= _TRIGRAM:
            search = "fts"
            values["phrase"] = '"' + needle.replace('"', '""') + '"'  # FTS5 substring match
        else:
            search = "like"
            values["pattern"] = like_pattern(needle)
    after_kind = None
    if after is not None:
        after_kind = "null" if after.value is None else "value"
        values["after_value"], values["after_id"] = after.value, after.id
    shape = (dialect, tuple(sorted(values)), search, filters.sort, after_kind)
    return Filtered(shape=shape, values=values)


@lru_cache(maxsize=512)
def _where(shape: tuple[Any, ...]) -> tuple[ColumnElement[bool], ...]:
    """The conditions of one shape of filters, with bound parameters (built once per shape)."""
    _, names, search, sort, after_kind = shape
    where: list[ColumnElement[bool]] = [
        _ORDERS.organization_id == bindparam("organization_id"),
        *_value_conditions(_ORDERS, names),
    ]
    created = _ORDERS.created
    if "created_from" in names:
        where.append(created >= bindparam("created_from", type_=created.type))
    if "created_to" in names:
        where.append(created <= bindparam("created_to", type_=created.type))
    if search == "fts":
        where.append(literal_column("orders.rowid").in_(_SQLITE_SEARCH))
    elif search == "like":
        where.append(_ORDERS.search_text.like(bindparam("pattern"), escape="\\"))
    if after_kind is not None:
        where.append(_after(sort, after_kind))
    return tuple(where)


# Only customer_name can be missing. A missing name sorts highest, as PostgreSQL's indexes order
# NULLs natively; SQLite is told so explicitly (where NULLs otherwise sort lowest).
_NULLABLE_SORTS = {"customer_name"}


@lru_cache(maxsize=16)
def _ordering(sort: str) -> list[ColumnElement[Any]]:
    """Sort by the chosen field, ties broken by id."""
    field, descending = sort.removeprefix("-"), sort.startswith("-")
    sorted_by = _ORDERS[field]
    nullable = field in _NULLABLE_SORTS
    if descending:
        first = sorted_by.desc().nulls_first() if nullable else sorted_by.desc()
        return [first, _ORDERS.id.desc()]
    return [sorted_by.asc().nulls_last() if nullable else sorted_by.asc(), _ORDERS.id.asc()]


def _after(sort: str, after_kind: str) -> ColumnElement[bool]:
    """Orders that come after the bound position in the sort order (keyset pagination)."""
    field, desc = sort.removeprefix("-"), sort.startswith("-")
    sorted_by, order_id = _ORDERS[field], _ORDERS.id
    value = bindparam("after_value", type_=sorted_by.type)
    last_id = bindparam("after_id", type_=order_id.type)
    if field not in _NULLABLE_SORTS:
        # A row-value comparison walks the (organization_id, field, id) index on both engines.
        key, last = tuple_(sorted_by, order_id), tuple_(value, last_id)
        return key < last if desc else key > last
    later_id = order_id < last_id if desc else order_id > last_id
    if after_kind == "null":  # a missing name: the highest value
        same = and_(sorted_by.is_(None), later_id)
        return or_(sorted_by.is_not(None), same) if desc else same
    beyond = sorted_by < value if desc else sorted_by > value
    following = or_(beyond, and_(sorted_by == value, later_id))
    return following if desc else or_(following, sorted_by.is_(None))


def _load_children(session: Session, organization_id: str, orders: Sequence[OrderRow]) -> None:
    """Fill ``products`` and ``status_history`` of many orders with one query each.

    Written out instead of ``selectinload`` because that matches composite keys with a row-value
    ``IN``, which SQLite answers with a full table scan.
    """
    if not orders:
        return
    ids = [order.id for order in orders]
    relations: list[tuple[str, Any, Any]] = [
        ("products", LineItemRow, LineItemRow.position),
        ("status_history", StatusChange, StatusChange.seq),
    ]
    for attribute, model, position in relations:
        children: dict[str, list[Any]] = {order_id: [] for order_id in ids}
        query = (
            select(model)
            .where(model.organization_id == organization_id, model.order_id.in_(ids))
            .order_by(model.order_id, position)
        )
        for child in session.scalars(query):
            children[child.order_id].append(child)
        for order in orders:
            set_committed_value(order, attribute, children[order.id])


ORDER_COLUMN_NAMES = tuple(c.key for c in _table(OrderRow).columns)


def list_order_rows(
    session: Session,
    organization_id: str,
    filters: OrderFilters,
    columns: Sequence[str],
    *,
    offset: int,
    limit: int,
    after: Position | None = None,
) -> Sequence[Row[Any]]:
    """A page of matching orders as plain rows of ``columns`` (see ``_raw``)."""
    found = filtered(organization_id, filters, _dialect(session), after)
    query = _page_of(found.shape, tuple(columns))
    return query.rows(session, {**found.values, "offset": offset, "limit": limit})


@lru_cache(maxsize=512)
def _page_of(shape: tuple[Any, ...], columns: tuple[str, ...]) -> DirectQuery:
    """Built once per shape of filters: a statement rebuilt per request costs more than
    running it."""
    dialect, sort = shape[0], shape[3]
    return DirectQuery(
        select(*(_raw(_ORDERS[name], dialect) for name in columns))
        .where(*_where(shape))
        .order_by(*_ordering(sort))
        .offset(bindparam("offset", type_=Integer()))
        .limit(bindparam("limit", type_=Integer()))
    )


@lru_cache(maxsize=32)
def _rows_by_id(dialect: str, columns: tuple[str, ...], lock: bool) -> DirectQuery:
    """Built once per shape: a statement rebuilt per request costs more than running it."""
    table = _table(OrderRow)
    query = select(*(_raw(table.c[name], dialect) for name in columns)).where(
        table.c.organization_id == bindparam("organization_id"),
        table.c.id.in_(bindparam("ids", expanding=True)),
    )
    return DirectQuery(query.with_for_update() if lock else query)


def order_rows(
    session: Session,
    organization_id: str,
    order_ids: Sequence[str],
    columns: Sequence[str],
    *,
    lock: bool = False,
) -> Sequence[Row[Any]]:
    """Orders by id as plain rows of ``columns``; ``lock``: FOR UPDATE (PostgreSQL)."""
    query = _rows_by_id(_dialect(session), tuple(columns), lock)
    return query.rows(session, {"organization_id": organization_id, "ids": list(order_ids)})


def _raw(column: Any, dialect: str) -> Any:
    """A column in its cheapest plain form: money as integer units, times as UTC text
    ("YYYY-MM-DD HH:MM:SS.ffffff"), statuses as strings."""
    if isinstance(column.type, Money):
        return type_coerce(column, BigInteger).label(column.key)
    if isinstance(column.type, Enum):  # plain strings, not enum members
        return type_coerce(column, String()).label(column.key)
    if isinstance(column.type, UTCDateTime):
        if dialect == "postgresql":  # the text SQLite stores, made by the server (no datetimes)
            utc = func.timezone("UTC", column)
            return func.to_char(utc, "YYYY-MM-DD HH24:MI:SS.US").label(column.key)
        return type_coerce(column, String()).label(column.key)
    return column


def stream_order_rows(
    session: Session,
    organization_id: str,
    filters: OrderFilters,
    columns: Sequence[str],
    *,
    batch_size: int,
) -> Iterator[Sequence[Row[Any]]]:
    """Matching orders as plain rows of ``columns`` (see ``_raw``), in batches from one
    streaming cursor. Export reads a million orders this way: Core rows, no ORM objects."""
    dialect = _dialect(session)
    found = filtered(organization_id, filters, dialect)
    query = (
        select(*(_raw(_ORDERS[name], dialect) for name in columns))
        .where(*_where(found.shape))
        .order_by(*_ordering(filters.sort))
        .execution_options(yield_per=batch_size)
    )
    yield from session.connection().execute(query, found.values).partitions()


def _places_by_currency() -> ColumnElement[Any]:
    """``currency_places`` as SQL: a CASE over the currencies whose places are not 2."""
    unusual = {
        code: places
        for code in money.priceable_currencies()
        if (places := money.currency_places(code)) != 2
    }
    return case(unusual, value=OrderRow.currency, else_=2)


def _csv_text(column: Any, places: ColumnElement[Any]) -> Any:
    """A column written by PostgreSQL exactly as ``export.service`` writes it in Python."""
    if isinstance(column.type, Money):
        return func.round(type_coerce(column, BigInteger) / literal(10_000, Numeric()), places)
    if isinstance(column.type, UTCDateTime):
        utc = func.timezone("UTC", column)
        micros = func.to_char(utc, "US")
        return func.concat(
            func.to_char(utc, 'YYYY-MM-DD"T"HH24:MI:SS'),
            case((micros == "000000", ""), else_=func.concat(".", micros)),
            "Z",
        )
    return column


def copy_orders_csv(
    session: Session, organization_id: str, filters: OrderFilters, columns: Sequence[str]
) -> Iterator[bytes]:
    """PostgreSQL writes the CSV itself (``COPY … TO STDOUT``), a row per chunk, header first.

    The statement's values are bound client-side by psycopg, never pasted into the SQL.
    """
    places = _places_by_currency()
    found = filtered(organization_id, filters, "postgresql")
    query = (
        select(*(_csv_text(_ORDERS[name], places).label(name) for name in columns))
        .where(*_where(found.shape))
        .order_by(*_ordering(filters.sort))
    )
    # COPY takes one statement with its values: the IN lists are expanded for these values.
    expanded = query.compile(dialect=session.get_bind().dialect).construct_expanded_state(
        found.values
    )
    cursor = session.connection().connection.cursor()
    statement = f"COPY ({expanded.statement}) TO STDOUT WITH (FORMAT csv, HEADER true)"
    with cursor.copy(statement, expanded.parameters) as copy:
        for chunk in copy:
            yield bytes(chunk)


@lru_cache(maxsize=8)
def _children_of(dialect: str, history: bool) -> DirectQuery:
    model: Any = StatusChange if history else LineItemRow
    table = _table(model)
    return DirectQuery(
        select(*(_raw(c, dialect) for c in table.columns))
        .where(
            table.c.organization_id == bindparam("organization_id"),
            table.c.order_id.in_(bindparam("ids", expanding=True)),
        )
        .order_by(table.c.order_id, table.c.seq if history else table.c.position)
    )


def child_rows(
    session: Session, organization_id: str, order_ids: Sequence[str], *, history: bool = False
) -> dict[str, list[Row[Any]]]:
    """Line items (or status history) of many orders as plain rows, by order id, in order."""
    query = _children_of(_dialect(session), history)
    parameters = {"organization_id": organization_id, "ids": list(order_ids)}
    children: dict[str, list[Row[Any]]] = {order_id: [] for order_id in order_ids}
    for row in query.rows(session, parameters):
        children[row.order_id].append(row)
    return children


def count_orders(session: Session, organization_id: str, filters: OrderFilters) -> int:
    if filters.search or filters.created_from or filters.created_to:
        found = filtered(organization_id, filters, _dialect(session))
        return int(_count_of(found.shape).scalar(session, found.values) or 0)
    # Statuses and source only: a sum over the maintained counts (see OrderCount).
    values = _chosen_values(organization_id, filters)
    return int(_maintained_count_of(tuple(sorted(values))).scalar(session, values) or 0)


def counts_by_status(session: Session, organization_id: str) -> dict[str, int]:
    """How many orders the organization has in each status, from the maintained counts."""
    counts = _table(OrderCount).c
    query = (
        select(counts.status, func.sum(counts.n))
        .where(counts.organization_id == organization_id)
        .group_by(counts.status)
    )
    return {status: int(n) for status, n in session.execute(query)}


@lru_cache(maxsize=512)
def _count_of(shape: tuple[Any, ...]) -> DirectQuery:
    return DirectQuery(select(func.count()).select_from(_table(OrderRow)).where(*_where(shape)))


@lru_cache(maxsize=32)
def _maintained_count_of(names: tuple[str, ...]) -> DirectQuery:
    counts = _table(OrderCount).c
    where = [counts.organization_id == bindparam("organization_id")]
    where += _value_conditions(counts, names)
    return DirectQuery(select(func.coalesce(func.sum(counts.n), 0)).where(*where))


# ---- maintained counts -----------------------------------------------------------------------
# Every write that adds or removes an order, or changes its statuses or source, goes through
# this module and adjusts OrderCount in the same transaction.

CountKey = tuple[str, str, str, str]
_COUNTED = ("status", "payment_status", "fulfillment_status", "source")
_COUNT_SHARDS = 8


def count_key(order: OrderRow | dict[str, Any]) -> CountKey:
    get = order.get if isinstance(order, dict) else lambda name: getattr(order, name)
    status, payment_status, fulfillment_status, source = (str(get(name)) for name in _COUNTED)
    return status, payment_status, fulfillment_status, source


@lru_cache(maxsize=4)
def _count_upsert(dialect: str) -> Any:
    """``INSERT … ON CONFLICT DO UPDATE n = n + excluded.n``, built once so that SQLAlchemy
    compiles it once (a statement rebuilt per call costs about a millisecond)."""
    table = _table(OrderCount)
    statement = (postgresql_insert if dialect == "postgresql" else sqlite_insert)(table)
    return statement.on_conflict_do_update(
        index_elements=list(table.primary_key), set_={"n": table.c.n + statement.excluded.n}
    )


def adjust_counts(session: Session, organization_id: str, deltas: Mapping[CountKey, int]) -> None:
    dialect = _dialect(session)
    # Sorted, so that concurrent transactions lock counter rows in the same order.
    rows = [
        {
            "organization_id": organization_id,
            "status": key[0],
            "payment_status": key[1],
            "fulfillment_status": key[2],
            "source": key[3],
            "shard": random.randrange(_COUNT_SHARDS) if dialect == "postgresql" else 0,
            "n": delta,
        }
        for key, delta in sorted(deltas.items())
        if delta
    ]
    if rows:
        session.connection().execute(_count_upsert(dialect), rows)


def _counted_as_loaded(order: OrderRow) -> CountKey:
    """The statuses and source an order had when it was loaded (before unflushed changes)."""
    state = inspect(order)
    values = {}
    for name in _COUNTED:
        history = state.attrs[name].history
        values[name] = history.deleted[0] if history.deleted else getattr(order, name)
    return count_key(values)


@event.listens_for(Session, "before_flush")
def _count_orm_changes(session: Session, _context: Any, _instances: Any) -> None:
    """Orders changed through the ORM (PUT, platform ingestion) are counted as they flush, so
    that no caller can forget to: by the values loaded under lock and the values written. The
    Core writes above and below (insert, status changes, delete) count what their statements
    wrote themselves."""
    by_organization: dict[str, Counter[CountKey]] = {}
    for order in session.dirty:
        if isinstance(order, OrderRow):
            before, after = _counted_as_loaded(order), count_key(order)
            if before != after:
                counts = by_organization.setdefault(order.organization_id, Counter())
                counts[before] -= 1
                counts[after] += 1
    for organization_id, counts in by_organization.items():
        adjust_counts(session, organization_id, counts)
    _gather_orm_updates(session)


# Orders changed through the ORM may flush more than once in a unit of work (PUT flushes its
# old line items out first): their audit event is gathered across flushes and written once,
# when the unit of work commits.
_AUDIT_UPDATES = "orderly.audit_updates"


def _gather_orm_updates(session: Session) -> None:
    pending: dict[tuple[str, str], tuple[set[str], str | None]] = session.info.setdefault(
        _AUDIT_UPDATES, {}
    )
    for order in session.dirty:
        if not isinstance(order, OrderRow):
            continue
        changed = {
            attribute.key for attribute in inspect(order).attrs if attribute.history.has_changes()
        } - {"updated", "status_history"}
        if changed:
            fields, _ = pending.get((order.organization_id, order.id), (set(), None))
            # Set by platform ingestion: its batch mixes connections.
            actor = getattr(order, "audit_actor", None)
            pending[(order.organization_id, order.id)] = (fields | changed, actor)


@event.listens_for(Session, "before_commit")
def _record_orm_updates(session: Session) -> None:
    pending = session.info.pop(_AUDIT_UPDATES, None)
    if pending:
        audit.record(
            session,
            (
                audit.event(
                    organization_id,
                    order_id,
                    audit.UPDATED,
                    {"fields": sorted(fields)},
                    actor=actor,
                )
                for (organization_id, order_id), (fields, actor) in pending.items()
            ),
        )


@event.listens_for(Session, "after_rollback")
def _forget_orm_updates(session: Session) -> None:
    session.info.pop(_AUDIT_UPDATES, None)


STATUS_COLUMNS = ("id", *_COUNTED)  # what a status change reads (and locks) of each order


@dataclass(frozen=True)
class StatusPlan:
    """The status changes to make to one order: its statuses and source before them (as
    read under lock) and ``(field, from, to)`` per change."""

    order_id: str
    before: CountKey
    changes: Sequence[tuple[str, str, str]]

    @property
    def after(self) -> CountKey:
        values = dict(zip(_COUNTED, self.before, strict=True))
        values.update({field: new for field, _, new in self.changes})
        return count_key(values)


def _status_update() -> Any:
    table = _table(OrderRow)
    return (
        update(table)
        .where(
            table.c.organization_id == bindparam("of_organization"),
            table.c.id == bindparam("of_order"),
        )
        .values(
            status=bindparam("new_status", type_=table.c.status.type),
            payment_status=bindparam("new_payment_status", type_=table.c.payment_status.type),
            fulfillment_status=bindparam(
                "new_fulfillment_status", type_=table.c.fulfillment_status.type
            ),
            updated=bindparam("new_updated", type_=table.c.updated.type),
        )
    )


def _last_seqs() -> Any:
    history = _table(StatusChange).c
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


def change_statuses(
    session: Session,
    organization_id: str,
    plans: Sequence[StatusPlan],
    *,
    source: str,
    at: datetime,
) -> None:
    """Apply status changes to orders read (and locked) with ``order_rows(…, STATUS_COLUMNS,
    lock=True)``: the statuses and ``updated``, one history entry per change (after the last
    one), and the maintained counts, by what changed. PATCH status and bulk status write here;
    PUT and platform ingestion change the ORM object they replace the content of, counted by
    ``_count_orm_changes``."""
    plans = [plan for plan in plans if plan.changes]
    if not plans:
        return
    connection = session.connection()
    ids = [plan.order_id for plan in plans]
    last = dict(
        connection.execute(_LAST_SEQS, {"organization_id": organization_id, "ids": ids}).all()
    )
    updates, history = [], []
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
        seq = last.get(plan.order_id) or 0
        for field, old, new in plan.changes:
            seq += 1
            history.append(
                {
                    "organization_id": organization_id,
                    "order_id": plan.order_id,
                    "seq": seq,
                    "field": field,
                    "from_value": old,
                    "to_value": new,
                    "at": at,
                    "source": source,
                }
            )
        last[plan.order_id] = seq  # a later plan for the same order continues from here
        counts[plan.before] -= 1
        counts[after] += 1
    connection.execute(_STATUS_UPDATE, updates)
    connection.execute(insert(_table(StatusChange)), history)
    adjust_counts(session, organization_id, counts)
    audit.record(
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


def get_order(session: Session, organization_id: str, order_id: str) -> OrderRow | None:
    """The order, locked for update, with its children (to be changed through the ORM)."""
    query = (
        select(OrderRow)
        .where(OrderRow.organization_id == organization_id, OrderRow.id == order_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    order = session.scalars(query).one_or_none()
    if order is not None:
        _load_children(session, organization_id, [order])
    return order


def find_by_external_id(
    session: Session, organization_id: str, source: str, external_id: str
) -> OrderRow | None:
    """The order with this source and external id, locked for update, with its children."""
    query = (
        select(OrderRow)
        .where(
            OrderRow.organization_id == organization_id,
            OrderRow.source == source,
            OrderRow.external_id == external_id,
        )
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    order = session.scalars(query).one_or_none()
    if order is not None:
        _load_children(session, organization_id, [order])
    return order


def find_by_external_ids(
    session: Session, organization_id: str, keys: Iterable[tuple[str, str]]
) -> dict[tuple[str, str], str]:
    """Existing order ids by ``(source, external_id)``."""
    by_source: dict[str, set[str]] = {}
    for source, external_id in keys:
        by_source.setdefault(source, set()).add(external_id)
    found: dict[tuple[str, str], str] = {}
    # One source at a time: ``source = ? AND external_id IN (…)`` walks the unique index, where
    # SQLite answers a row-value ``(source, external_id) IN (…)`` by scanning the organization.
    for source, wanted in by_source.items():
        ordered = sorted(wanted)
        for start in range(0, len(ordered), 500):
            query = select(OrderRow.external_id, OrderRow.id).where(
                OrderRow.organization_id == organization_id,
                OrderRow.source == source,
                OrderRow.external_id.in_(ordered[start : start + 500]),
            )
            for row in session.execute(query):
                found[(source, row.external_id or "")] = row.id
    return found


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
    connection.execute(insert(_table(OrderRow)), orders)
    adjust_counts(session, orders[0]["organization_id"], Counter(count_key(o) for o in orders))
    if line_items:
        connection.execute(insert(_table(LineItemRow)), line_items)
    if history:
        connection.execute(insert(_table(StatusChange)), history)
    actors = actors or {}
    audit.record(
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


def delete_orders(session: Session, organization_id: str, order_ids: Sequence[str]) -> set[str]:
    """Delete orders (their line items and history go with them, ON DELETE CASCADE); returns
    the ids that this statement deleted.

    The counts are taken from what ``DELETE … RETURNING`` removed, never from an earlier read:
    of two requests deleting the same order at once, the second deletes (and subtracts)
    nothing, and a status change that committed first is what gets subtracted.
    """
    if not order_ids:
        return set()
    table = _table(OrderRow)
    statement = (
        delete(table)
        .where(table.c.organization_id == organization_id, table.c.id.in_(order_ids))
        .returning(
            table.c.id,
            *(_raw(table.c[name], "") for name in _COUNTED),
        )
    )
    removed = session.connection().execute(statement).all()
    by_key = Counter(count_key(row._asdict()) for row in removed)
    adjust_counts(session, organization_id, {key: -n for key, n in by_key.items()})
    audit.record(
        session,
        (
            audit.event(organization_id, row.id, audit.DELETED, {"status": row.status})
            for row in removed
        ),
    )
    return {row.id for row in removed}
