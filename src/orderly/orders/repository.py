"""Every query on orders, line items and status history. Each one leads with organization_id."""

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import ColumnElement, delete, func, insert, select, tuple_
from sqlalchemy.orm import Session, selectinload

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


def list_orders(
    session: Session, organization_id: str, filters: OrderFilters, *, offset: int, limit: int
) -> Sequence[Order]:
    query = (
        select(Order)
        .where(*conditions(organization_id, filters))
        .order_by(*ordering(filters))
        .offset(offset)
        .limit(limit)
        .options(selectinload(Order.products))
    )
    return session.scalars(query).all()


def count_orders(session: Session, organization_id: str, filters: OrderFilters) -> int:
    query = select(func.count()).select_from(Order).where(*conditions(organization_id, filters))
    return int(session.scalar(query) or 0)


def get_order(
    session: Session, organization_id: str, order_id: str, *, for_update: bool = False
) -> Order | None:
    query = (
        select(Order)
        .where(Order.organization_id == organization_id, Order.id == order_id)
        .options(selectinload(Order.products), selectinload(Order.status_history))
        .execution_options(populate_existing=True)
    )
    if for_update:
        query = query.with_for_update()
    return session.scalars(query).one_or_none()


def get_orders_with_history(
    session: Session, organization_id: str, order_ids: Iterable[str]
) -> dict[str, Order]:
    query = (
        select(Order)
        .where(Order.organization_id == organization_id, Order.id.in_(list(order_ids)))
        .options(selectinload(Order.status_history))
        .with_for_update()
    )
    return {order.id: order for order in session.scalars(query)}


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
