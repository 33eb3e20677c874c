"""Queries for integration connections and their webhook deliveries."""

from collections.abc import Iterable, Sequence

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from orderly.auth.models import Organization
from orderly.integrations.models import Connection, Delivery, Outcome


def find_connections_with_organizations(
    session: Session, keys: Iterable[tuple[str, str]]
) -> dict[tuple[str, str], tuple[Connection, Organization]]:
    """Connections (with their organizations) by ``(organization_id, connection_id)``."""
    wanted = set(keys)
    if not wanted:
        return {}
    # Both columns as plain IN lists (the primary key is walked); pairs are matched below.
    query = (
        select(Connection, Organization)
        .join(Organization, Organization.id == Connection.organization_id)
        .where(
            Connection.organization_id.in_({organization for organization, _ in wanted}),
            Connection.id.in_({connection for _, connection in wanted}),
        )
    )
    found = {}
    for connection, organization in session.execute(query):
        key = (connection.organization_id, connection.id)
        if key in wanted:
            found[key] = (connection, organization)
    return found


def get_connection(session: Session, organization_id: str, connection_id: str) -> Connection | None:
    return session.get(Connection, (organization_id, connection_id))


def list_connections(session: Session, organization_id: str) -> Sequence[Connection]:
    query = (
        select(Connection)
        .where(Connection.organization_id == organization_id)
        .order_by(Connection.created, Connection.id)
    )
    return session.scalars(query).all()


def delete_connection(session: Session, organization_id: str, connection_id: str) -> bool:
    # Deliveries go first: SQLite enforces the cascade, but sharded PostgreSQL may not have it.
    session.execute(
        delete(Delivery).where(
            Delivery.organization_id == organization_id, Delivery.connection_id == connection_id
        )
    )
    result = session.execute(
        delete(Connection).where(
            Connection.organization_id == organization_id, Connection.id == connection_id
        )
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def find_processed_event(
    session: Session, organization_id: str, connection_id: str, event_id: str
) -> Delivery | None:
    """An earlier delivery of the same platform event that reached an order."""
    query = (
        select(Delivery)
        .where(
            Delivery.organization_id == organization_id,
            Delivery.connection_id == connection_id,
            Delivery.event_id == event_id,
            Delivery.order_id.is_not(None),
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
) -> tuple[Sequence[Delivery], int]:
    """A page of deliveries, newest first, and how many there are in all."""
    conditions = [
        Delivery.organization_id == organization_id,
        Delivery.connection_id == connection_id,
    ]
    if outcome is not None:
        conditions.append(Delivery.outcome == outcome.value)
    page = session.scalars(
        select(Delivery)
        .where(*conditions)
        .order_by(Delivery.received.desc(), Delivery.id.desc())
        .offset(offset)
        .limit(limit)
    ).all()
    total = session.scalar(select(func.count()).select_from(Delivery).where(*conditions)) or 0
    return page, total


def get_delivery(
    session: Session, organization_id: str, connection_id: str, delivery_id: str
) -> Delivery | None:
    delivery = session.get(Delivery, (organization_id, delivery_id))
    return delivery if delivery is not None and delivery.connection_id == connection_id else None
