"""Queries of the events feed and its sequence numbers."""

from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Row, Table, delete, select
from sqlalchemy.orm import Session

from orderly.core.direct import DirectInsert, driver_scalar
from orderly.events.models import EventRow, EventSequence

_INSERT = DirectInsert(cast(Table, EventRow.__table__))


# One statement, the same on both engines but for the driver's parameter style: run on the
# driver, since every write's commit runs it.
_TAKE = (
    "INSERT INTO event_sequences (organization_id, last) VALUES ({0}, {0}) "
    "ON CONFLICT (organization_id) DO UPDATE SET last = event_sequences.last + excluded.last "
    "RETURNING last"
)
_TAKE_BY_STYLE = {
    "qmark": _TAKE.format("?"),
    "format": _TAKE.format("%s"),
    "pyformat": _TAKE.format("%s"),
}


def take_sequences(session: Session, organization_id: str, count: int) -> int:
    """Reserve ``count`` sequence numbers for an organization; returns the last of them. The
    counter's row stays locked until the transaction ends, so a later transaction's numbers
    are only handed out after this one committed (or rolled back)."""
    # On the driver's cursor: SQLAlchemy's execution costs more than the statement itself.
    sql = _TAKE_BY_STYLE[session.connection().dialect.paramstyle]
    return int(driver_scalar(session, sql, (organization_id, count)))


def insert(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    _INSERT.run(session, rows)


def last_sequence(session: Session, organization_id: str) -> int:
    last = session.scalar(
        select(EventSequence.last).where(EventSequence.organization_id == organization_id)
    )
    return int(last or 0)


def page(
    session: Session,
    organization_id: str,
    *,
    after: int,
    types: Sequence[str],
    order_id: str | None,
    limit: int,
) -> Sequence[Row[int, str]]:
    """Events after sequence number ``after``, oldest first: (sequence, body)."""
    query = select(EventRow.sequence, EventRow.body).where(
        EventRow.organization_id == organization_id, EventRow.sequence > after
    )
    if types:
        query = query.where(EventRow.type.in_(types))
    if order_id is not None:
        query = query.where(EventRow.order_id == order_id)
    return session.execute(query.order_by(EventRow.sequence).limit(limit)).all()


def bodies_since(
    session: Session, organization_id: str, since: datetime, types: Sequence[str] | None
) -> Sequence[Row[int, str, str, str]]:
    """Every kept event that occurred at or after ``since``, oldest first (for a resend)."""
    query = select(EventRow.sequence, EventRow.id, EventRow.type, EventRow.order_id).where(
        EventRow.organization_id == organization_id, EventRow.occurred_at >= since
    )
    if types is not None:
        query = query.where(EventRow.type.in_(types))
    return session.execute(query.order_by(EventRow.sequence)).all()


def prune(session: Session, before: datetime) -> int:
    """Delete events that occurred before ``before`` (every organization's)."""
    result = session.execute(delete(EventRow).where(EventRow.occurred_at < before))
    return int(getattr(result, "rowcount", 0) or 0)
