"""Queries of the events feed and its sequence numbers."""

from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Row, Table, delete, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from orderly.core.direct import DirectInsert
from orderly.events.models import EventRow, EventSequence

_INSERT = DirectInsert(cast(Table, EventRow.__table__))


def take_sequences(session: Session, organization_id: str, count: int) -> int:
    """Reserve ``count`` sequence numbers for an organization; returns the last of them. The
    counter's row stays locked until the transaction ends, so a later transaction's numbers
    are only handed out after this one committed (or rolled back)."""
    dialect = session.connection().dialect.name
    make = pg_insert if dialect == "postgresql" else sqlite_insert
    counters = cast(Table, EventSequence.__table__)
    statement = (
        make(counters)
        .values(organization_id=organization_id, last=count)
        .on_conflict_do_update(
            index_elements=[counters.c.organization_id],
            set_={"last": counters.c.last + count},
        )
        .returning(counters.c.last)
    )
    return int(session.execute(statement).scalar_one())


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


def count(session: Session, organization_id: str) -> int:
    return int(
        session.scalar(
            select(func.count())
            .select_from(EventRow)
            .where(EventRow.organization_id == organization_id)
        )
        or 0
    )
