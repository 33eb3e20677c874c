"""Every query on orders, line items and status history. Each one leads with organization_id."""

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import ColumnElement, delete, func, insert, select, tuple_
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from orderly.core.text import fold_for_search, like_pattern
from orderly.orders.filters import OrderFilters
from orderly.orders.models import LineItem, Order, StatusChange


def conditions(organization_id: str, filters: OrderFilters) -> list[ColumnElement[bool]]:
    """The WHERE clause of a filtered list or export."""
    where: list[ColumnElement[bool]] = [Order.organization_id == organization_id]
    if statuses := filters.statuses:
        where.append(Order.status.in_(statuses))
    if payment_statuses := filters.payment_statuses:
        where.append(Order.payment_status.in_(payment_statuses))
    if fulfillment_statuses := filters.fulfillment_statuses:
        where.append(Order.fulfillment_status.in_(fulfillment_statuses))
    if sources := filters.sources:
        where.append(Order.source.in_(sources))
    if (created_from := filters.created_from_at) is not None:
        where.append(Order.created >= created_from)
    if (created_to := filters.created_to_at) is not None:
        where.append(Order.created <= created_to)
    if filters.search and (needle := fold_for_search(filters.search.strip())):
        where.append(Order.search_text.like(like_pattern(needle), escape="\\"))
    return where


def ordering(filters: OrderFilters) -> list[ColumnElement[Any]]:
    column = getattr(Order, filters.sort_field)
    if filters.descending:
        return [column.desc(), Order.id.desc()]
    return [column.asc(), Order.id.asc()]


def _load_children(
    session: Session, organization_id: str, orders: Sequence[Order], *, history: bool
) -> None:
    """Fill ``products`` (and ``status_history``) of many orders with one query each.

    Written out instead of ``selectinload`` because that matches composite keys with a row-value
    ``IN``, which SQLite answers with a full table scan.
    """
    if not orders:
        return
    ids = [order.id for order in orders]
    relations: list[tuple[str, Any, Any]] = [("products", LineItem, LineItem.position)]
    if history:
        relations.append(("status_history", StatusChange, StatusChange.seq))
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


def list_orders(
    session: Session, organization_id: str, filters: OrderFilters, *, offset: int, limit: int
) -> Sequence[Order]:
    query = (
        select(Order)
        .where(*conditions(organization_id, filters))
        .order_by(*ordering(filters))
        .offset(offset)
        .limit(limit)
    )
    orders = session.scalars(query).all()
    _load_children(session, organization_id, orders, history=False)
    return orders


def count_orders(session: Session, organization_id: str, filters: OrderFilters) -> int:
    query = select(func.count()).select_from(Order).where(*conditions(organization_id, filters))
    return int(session.scalar(query) or 0)


def get_order(
    session: Session, organization_id: str, order_id: str, *, for_update: bool = False
) -> Order | None:
    query = (
        select(Order)
        .where(Order.organization_id == organization_id, Order.id == order_id)
        .execution_options(populate_existing=True)
    )
    if for_update:
        query = query.with_for_update()
    order = session.scalars(query).one_or_none()
    if order is not None:
        _load_children(session, organization_id, [order], history=True)
    return order


def get_orders_with_history(
    session: Session, organization_id: str, order_ids: Iterable[str]
) -> dict[str, Order]:
    query = (
        select(Order)
        .where(Order.organization_id == organization_id, Order.id.in_(list(order_ids)))
        .with_for_update()
    )
    orders = session.scalars(query).all()
    _load_children(session, organization_id, orders, history=True)
    return {order.id: order for order in orders}


def find_by_external_ids(
    session: Session, organization_id: str, keys: Iterable[tuple[str, str]]
) -> dict[tuple[str, str], str]:
    """Existing order ids by ``(source, external_id)``."""
    wanted = list(set(keys))
    if not wanted:
        return {}
    found: dict[tuple[str, str], str] = {}
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        query = select(Order.source, Order.external_id, Order.id).where(
            Order.organization_id == organization_id,
            tuple_(Order.source, Order.external_id).in_(chunk),
        )
        for source, external_id, order_id in session.execute(query):
            found[(source, external_id or "")] = order_id
    return found


def insert_orders(
    session: Session,
    orders: list[dict[str, Any]],
    line_items: list[dict[str, Any]],
    history: list[dict[str, Any]],
) -> None:
    """Insert many new orders with three multi-row statements."""
    if not orders:
        return
    session.execute(insert(Order), orders)
    if line_items:
        session.execute(insert(LineItem), line_items)
    if history:
        session.execute(insert(StatusChange), history)


def delete_orders(session: Session, organization_id: str, order_ids: Sequence[str]) -> set[str]:
    """Delete orders with their line items and history; returns the ids that existed."""
    if not order_ids:
        return set()
    existing = set(
        session.scalars(
            select(Order.id).where(
                Order.organization_id == organization_id, Order.id.in_(order_ids)
            )
        )
    )
    if existing:
        ids = list(existing)
        for model in (LineItem, StatusChange):
            session.execute(
                delete(model).where(
                    model.organization_id == organization_id, model.order_id.in_(ids)
                )
            )
        session.execute(
            delete(Order).where(Order.organization_id == organization_id, Order.id.in_(ids))
        )
    return existing
