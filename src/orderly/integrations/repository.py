"""Queries for integration connections, their webhook deliveries, sync runs and pushes."""

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import CursorResult, and_, delete, func, or_, select, update
from sqlalchemy.orm import Session

from orderly.audit.models import AuditEventRow
from orderly.auth.models import Organization
from orderly.events.models import EventSequence
from orderly.integrations.models import (
    ConnectionRow,
    DeliveryRow,
    Outcome,
    PushRow,
    PushState,
    SyncRunRow,
)


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


# ---- sync: polls, backfills, pushes -----------------------------------------------------------


def connections_to_walk(session: Session, now: datetime, limit: int) -> Sequence[tuple[str, str]]:
    """(organization, connection) of connections whose poll (or backfill under way) is due,
    and that no worker holds."""
    query = (
        select(ConnectionRow.organization_id, ConnectionRow.id)
        .where(
            ConnectionRow.credentials.is_not(None),
            ConnectionRow.attention.is_(None),
            or_(ConnectionRow.lease_until.is_(None), ConnectionRow.lease_until < now),
            ConnectionRow.next_poll <= now,
        )
        .order_by(ConnectionRow.next_poll)
        .limit(limit)
    )
    return [(row[0], row[1]) for row in session.execute(query)]


def take_lease(
    session: Session,
    organization_id: str,
    connection_id: str,
    *,
    owner: str,
    now: datetime,
    until: datetime,
    due_only: bool,
) -> bool:
    """Hold the connection for one walk, unless another worker holds it (or, with
    ``due_only``, its next walk is not due): compare and set, so of many workers one wins."""
    conditions = [
        ConnectionRow.organization_id == organization_id,
        ConnectionRow.id == connection_id,
        ConnectionRow.credentials.is_not(None),
        or_(ConnectionRow.lease_until.is_(None), ConnectionRow.lease_until < now),
    ]
    if due_only:
        conditions.append(ConnectionRow.next_poll <= now)
    result = session.execute(
        update(ConnectionRow)
        .where(*conditions)
        .values(lease_owner=owner, lease_until=until)
        .execution_options(synchronize_session=False)
    )
    assert isinstance(result, CursorResult)
    return result.rowcount == 1


def held_connection(
    session: Session, organization_id: str, connection_id: str, owner: str
) -> ConnectionRow | None:
    """The connection, if ``owner`` still holds its lease."""
    connection = session.get(
        ConnectionRow, (organization_id, connection_id), populate_existing=True
    )
    return connection if connection is not None and connection.lease_owner == owner else None


def list_runs(
    session: Session, organization_id: str, connection_id: str, limit: int
) -> Sequence[SyncRunRow]:
    query = (
        select(SyncRunRow)
        .where(
            SyncRunRow.organization_id == organization_id,
            SyncRunRow.connection_id == connection_id,
        )
        .order_by(SyncRunRow.started.desc(), SyncRunRow.id.desc())
        .limit(limit)
    )
    return session.scalars(query).all()


def push_connections(session: Session) -> Sequence[ConnectionRow]:
    """Connections that push changes back (and whose credentials are taken)."""
    # Locked: two workers queueing the same events would push them twice; the second waits
    # and then reads the cursor the first moved.
    query = (
        select(ConnectionRow)
        .where(
            ConnectionRow.push_back.is_(True),
            ConnectionRow.credentials.is_not(None),
            ConnectionRow.attention.is_(None),
        )
        .order_by(ConnectionRow.organization_id, ConnectionRow.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return session.scalars(query).all()


def push_work_waits(session: Session, now: datetime) -> bool:
    """Whether a pushing connection has events it has not read, or a push is due: read only,
    so that an idle worker never takes a write lock."""
    behind = (
        select(ConnectionRow.id)
        .join(EventSequence, EventSequence.organization_id == ConnectionRow.organization_id)
        .where(
            ConnectionRow.push_back.is_(True),
            ConnectionRow.credentials.is_not(None),
            ConnectionRow.attention.is_(None),
            EventSequence.last > ConnectionRow.push_after,
        )
        .limit(1)
    )
    due = (
        select(PushRow.id)
        .where(PushRow.state == PushState.PENDING.value, PushRow.next_attempt_at <= now)
        .limit(1)
    )
    return session.scalar(behind) is not None or session.scalar(due) is not None


def pending_pushes(session: Session, limit: int) -> Sequence[PushRow]:
    """Pending pushes, oldest first (a later push of an order waits for the earlier)."""
    query = (
        select(PushRow)
        .where(PushRow.state == PushState.PENDING.value)
        .order_by(PushRow.created, PushRow.event_sequence, PushRow.id)
        .limit(limit)
    )
    return session.scalars(query).all()


def claim_push(session: Session, push: PushRow, *, now: datetime, until: datetime) -> bool:
    """Take a due push for one attempt (compare and set on its next attempt time)."""
    result = session.execute(
        update(PushRow)
        .where(
            PushRow.organization_id == push.organization_id,
            PushRow.id == push.id,
            PushRow.state == PushState.PENDING.value,
            PushRow.next_attempt_at == push.next_attempt_at,
            PushRow.next_attempt_at <= now,
        )
        .values(next_attempt_at=until)
        .execution_options(synchronize_session=False)
    )
    assert isinstance(result, CursorResult)
    return result.rowcount == 1


def list_pushes(
    session: Session,
    organization_id: str,
    *,
    connection_id: str | None = None,
    order_id: str | None = None,
    states: Sequence[str] | None = None,
    limit: int = 100,
) -> Sequence[PushRow]:
    conditions: list[Any] = [PushRow.organization_id == organization_id]
    if connection_id is not None:
        conditions.append(PushRow.connection_id == connection_id)
    if order_id is not None:
        conditions.append(PushRow.order_id == order_id)
    if states:
        conditions.append(PushRow.state.in_(states))
    query = (
        select(PushRow)
        .where(and_(*conditions))
        .order_by(PushRow.created.desc(), PushRow.id.desc())
        .limit(limit)
    )
    return session.scalars(query).all()


def get_push(session: Session, organization_id: str, push_id: str) -> PushRow | None:
    return session.get(PushRow, (organization_id, push_id))


def count_needing_attention(session: Session) -> int:
    query = (
        select(func.count()).select_from(ConnectionRow).where(ConnectionRow.attention.is_not(None))
    )
    return session.scalar(query) or 0


# Who speaks for a platform in the audit trail (``integrations.service``).
PLATFORM_ACTOR_PREFIXES = ("connection:", "reconciliation:", "backfill:")


def platform_actor_of_order(session: Session, organization_id: str, order_id: str) -> str | None:
    """The first audit actor of the order that was one of the organization's connections."""
    query = (
        select(AuditEventRow.actor)
        .where(
            AuditEventRow.organization_id == organization_id,
            AuditEventRow.order_id == order_id,
            or_(*(AuditEventRow.actor.startswith(p) for p in PLATFORM_ACTOR_PREFIXES)),
        )
        .order_by(AuditEventRow.at)
        .limit(1)
    )
    return session.scalar(query)
