"""Reading orders: the list filters as SQL, keyset pages, plain rows, counts, lookups. Each
query leads with organization_id."""

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    Integer,
    Row,
    Table,
    and_,
    bindparam,
    column,
    func,
    literal_column,
    or_,
    select,
    text,
    tuple_,
)
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from orderly.core.db import Base
from orderly.core.direct import DirectQuery
from orderly.core.text import fold_for_search, like_pattern
from orderly.orders.filters import OrderFilters, Position
from orderly.orders.models import LineItemRow, OrderCount, OrderRow, StatusChange
from orderly.orders.plain import raw


def table(model: type[Base]) -> Table:
    return cast(Table, model.__table__)


def dialect_of(session: Session) -> str:
    return session.get_bind().dialect.name


# Trigram indexes (FTS5 on SQLite, pg_trgm on PostgreSQL) serve searches of 3+ characters.
_TRIGRAM = 3
_SQLITE_SEARCH = text("SELECT rowid FROM orders_search WHERE orders_search MATCH :phrase").columns(
    column("rowid")
)
_ORDERS = table(OrderRow).c


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
def where(shape: tuple[Any, ...]) -> tuple[ColumnElement[bool], ...]:
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
def ordering(sort: str) -> list[ColumnElement[Any]]:
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
    found = filtered(organization_id, filters, dialect_of(session), after)
    query = _page_of(found.shape, tuple(columns))
    return query.rows(session, {**found.values, "offset": offset, "limit": limit})


@lru_cache(maxsize=512)
def _page_of(shape: tuple[Any, ...], columns: tuple[str, ...]) -> DirectQuery:
    """Built once per shape of filters: a statement rebuilt per request costs more than
    running it."""
    dialect, sort = shape[0], shape[3]
    return DirectQuery(
        select(*(raw(_ORDERS[name], dialect) for name in columns))
        .where(*where(shape))
        .order_by(*ordering(sort))
        .offset(bindparam("offset", type_=Integer()))
        .limit(bindparam("limit", type_=Integer()))
    )


@lru_cache(maxsize=32)
def _rows_by_id(dialect: str, columns: tuple[str, ...], lock: bool) -> DirectQuery:
    """Built once per shape: a statement rebuilt per request costs more than running it."""
    chosen = table(OrderRow)
    query = select(*(raw(chosen.c[name], dialect) for name in columns)).where(
        chosen.c.organization_id == bindparam("organization_id"),
        chosen.c.id.in_(bindparam("ids", expanding=True)),
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
    query = _rows_by_id(dialect_of(session), tuple(columns), lock)
    return query.rows(session, {"organization_id": organization_id, "ids": list(order_ids)})


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
    dialect = dialect_of(session)
    found = filtered(organization_id, filters, dialect)
    query = (
        select(*(raw(_ORDERS[name], dialect) for name in columns))
        .where(*where(found.shape))
        .order_by(*ordering(filters.sort))
        .execution_options(yield_per=batch_size)
    )
    yield from session.connection().execute(query, found.values).partitions()


@lru_cache(maxsize=8)
def _children_of(dialect: str, history: bool) -> DirectQuery:
    model: Any = StatusChange if history else LineItemRow
    chosen = table(model)
    return DirectQuery(
        select(*(raw(c, dialect) for c in chosen.columns))
        .where(
            chosen.c.organization_id == bindparam("organization_id"),
            chosen.c.order_id.in_(bindparam("ids", expanding=True)),
        )
        .order_by(chosen.c.order_id, chosen.c.seq if history else chosen.c.position)
    )


def child_rows(
    session: Session, organization_id: str, order_ids: Sequence[str], *, history: bool = False
) -> dict[str, list[Row[Any]]]:
    """Line items (or status history) of many orders as plain rows, by order id, in order."""
    query = _children_of(dialect_of(session), history)
    parameters = {"organization_id": organization_id, "ids": list(order_ids)}
    children: dict[str, list[Row[Any]]] = {order_id: [] for order_id in order_ids}
    for row in query.rows(session, parameters):
        children[row.order_id].append(row)
    return children


def count_orders(session: Session, organization_id: str, filters: OrderFilters) -> int:
    if filters.search or filters.created_from or filters.created_to:
        found = filtered(organization_id, filters, dialect_of(session))
        return int(_count_of(found.shape).scalar(session, found.values) or 0)
    # Statuses and source only: a sum over the maintained counts (see OrderCount).
    values = _chosen_values(organization_id, filters)
    return int(_maintained_count_of(tuple(sorted(values))).scalar(session, values) or 0)


def counts_by_status(session: Session, organization_id: str) -> dict[str, int]:
    """How many orders the organization has in each status, from the maintained counts."""
    counts = table(OrderCount).c
    query = (
        select(counts.status, func.sum(counts.n))
        .where(counts.organization_id == organization_id)
        .group_by(counts.status)
    )
    return {status: int(n) for status, n in session.execute(query)}


def sources_of(session: Session, organization_id: str) -> list[str]:
    """The sources the organization has orders from, from the maintained counts."""
    counts = table(OrderCount).c
    query = (
        select(counts.source)
        .where(counts.organization_id == organization_id)
        .group_by(counts.source)
        .having(func.sum(counts.n) > 0)
        .order_by(counts.source)
    )
    return list(session.scalars(query))


@lru_cache(maxsize=512)
def _count_of(shape: tuple[Any, ...]) -> DirectQuery:
    return DirectQuery(select(func.count()).select_from(table(OrderRow)).where(*where(shape)))


@lru_cache(maxsize=32)
def _maintained_count_of(names: tuple[str, ...]) -> DirectQuery:
    counts = table(OrderCount).c
    where = [counts.organization_id == bindparam("organization_id")]
    where += _value_conditions(counts, names)
    return DirectQuery(select(func.coalesce(func.sum(counts.n), 0)).where(*where))


def _locked_order(
    session: Session, organization_id: str, *conditions: ColumnElement[bool]
) -> OrderRow | None:
    """The order matching ``conditions``, locked for update, read afresh with its children
    (its state before a write: the write itself goes through ``_writes``)."""
    query = (
        select(OrderRow)
        .where(OrderRow.organization_id == organization_id, *conditions)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    order = session.scalars(query).one_or_none()
    if order is not None:
        _load_children(session, organization_id, [order])
    return order


def get_order(session: Session, organization_id: str, order_id: str) -> OrderRow | None:
    """The order by id, locked for update, with its children."""
    return _locked_order(session, organization_id, OrderRow.id == order_id)


def find_by_external_id(
    session: Session, organization_id: str, source: str, external_id: str
) -> OrderRow | None:
    """The order with this source and external id, locked for update, with its children."""
    return _locked_order(
        session, organization_id, OrderRow.source == source, OrderRow.external_id == external_id
    )


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
