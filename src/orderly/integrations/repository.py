"""Queries for integration connections and their webhook deliveries."""

from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from orderly.auth.models import Organization
from orderly.integrations.models import ConnectionRow, DeliveryRow, Outcome


def find_connections_with_organizations(
    session: Session, keys: Iterable[tuple[str, str]]
) -> dict[tuple[str, str], tuple[ConnectionRow, Organization]]:
    """Connections (with their organizations) by ``(organization_id, connection_id)``."""
    wanted = set(keys)
    if not wanted:
        return {}
    # Both columns as plain IN lists (the primary key is walked); pairs are matched below.
    query = (
        select(ConnectionRow, Organization)
        .join(Organization, Organization.id == ConnectionRow.organization_id)
        .where(
            ConnectionRow.organization_id.in_({organization for organization, _ in wanted}),
            ConnectionRow.id.in_({connection for _, connection in wanted}),
        )
    )
    found = {}
    for connection, organization in session.execute(query):
        key = (connection.organization_id, connection.id)
        if key in wanted:
            found[key] = (connection, organization)
    return found


def get_connection(
    session: Session, organization_id: str, connection_id: str
) -> ConnectionRow | None:
    return session.get(ConnectionRow, (organization_id, connection_id))


def list_connections(session: Session, organization_id: str) -> Sequence[ConnectionRow]:
    query = (
        select(ConnectionRow)
        .where(ConnectionRow.organization_id == organization_id)
        .order_by(ConnectionRow.created, ConnectionRow.id)
    )
    return session.scalars(query).all()


def delete_connection(session: Session, organization_id: str, connection_id: str) -> bool:
    # Deliveries go first: SQLite enforces the cascade, but sharded PostgreSQL may not have it.
    session.execute(
        delete(DeliveryRow).where(
            DeliveryRow.organization_id == organization_id,
            DeliveryRow.connection_id == connection_id,
        )
    )
    result = session.execute(
        delete(ConnectionRow).where(
            ConnectionRow.organization_id == organization_id, ConnectionRow.id == connection_id
        )
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def find_processed_event(
    session: Session, organization_id: str, connection_id: str, event_id: str
) -> DeliveryRow | None:
    """An earlier delivery of the same platform event that reached an order."""
    query = (
        select(DeliveryRow)
        .where(
            DeliveryRow.organization_id == organization_id,
            DeliveryRow.connection_id == connection_id,
            DeliveryRow.event_id == event_id,
            DeliveryRow.order_id.is_not(None),
        )
        .limit(1)
    )
    return session.scalars(query).first()


def list_deliveries(
    session: Session,
    organization_id: str,
    connection_id: str,
    outcome: Outcome | None,
    *,
    offset: int,
    limit: int,
) -> tuple[Sequence[DeliveryRow], int]:
    """A page of deliveries, newest first, and how many there are in all."""
    conditions = [
        DeliveryRow.organization_id == organization_id,
        DeliveryRow.connection_id == connection_id,
    ]
    if outcome is not None:
        conditions.append(DeliveryRow.outcome == outcome.value)
    page = session.scalars(
        select(DeliveryRow)
        .where(*conditions)
        .order_by(DeliveryRow.received.desc(), DeliveryRow.id.desc())
        .offset(offset)
        .limit(limit)
    ).all()
    total = session.scalar(select(func.count()).select_from(DeliveryRow).where(*conditions)) or 0
    return page, total


def get_delivery(
    session: Session, organization_id: str, connection_id: str, delivery_id: str
) -> DeliveryRow | None:
    delivery = session.get(DeliveryRow, (organization_id, delivery_id))
    return delivery if delivery is not None and delivery.connection_id == connection_id else None


def latest_delivery_of_order(
    session: Session, organization_id: str, order_id: str
) -> DeliveryRow | None:
    query = (
        select(DeliveryRow)
        .where(DeliveryRow.organization_id == organization_id, DeliveryRow.order_id == order_id)
        .order_by(DeliveryRow.received.desc())
        .limit(1)
    )
    return session.scalars(query).first()


def organization_ids(session: Session) -> Sequence[str]:
    """Every organization: maintenance walks them one by one, so that each of its queries
    leads with ``organization_id`` (one shard at a time on a distributed database)."""
    return session.scalars(select(Organization.id).order_by(Organization.id)).all()


def connections_of(session: Session, organization_id: str) -> Sequence[ConnectionRow]:
    query = select(ConnectionRow).where(ConnectionRow.organization_id == organization_id)
    return session.scalars(query).all()


def delete_deliveries_before(
    session: Session, organization_id: str, *, verified: bool, before: datetime
) -> int:
    result = session.execute(
        delete(DeliveryRow).where(
            DeliveryRow.organization_id == organization_id,
            DeliveryRow.verified.is_(verified),
            DeliveryRow.received < before,
        )
    )
    return int(getattr(result, "rowcount", 0) or 0)
