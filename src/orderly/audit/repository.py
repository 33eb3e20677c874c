"""Queries of the audit trail."""

from collections.abc import Sequence
from typing import Any, cast

from sqlalchemy import Table, func, select
from sqlalchemy.orm import Session

from orderly.audit.models import AuditEventRow
from orderly.core.direct import DirectInsert

# Every write of an order adds one: on the driver's cursor (``core.direct``).
_INSERT = DirectInsert(cast(Table, AuditEventRow.__table__))


def record(session: Session, events: list[dict[str, Any]]) -> None:
    """Insert audit events (rows of ``audit_events``)."""
    _INSERT.run(session, events)


def list_events(
    session: Session, organization_id: str, order_id: str | None, *, offset: int, limit: int
) -> tuple[Sequence[AuditEventRow], int]:
    where = [AuditEventRow.organization_id == organization_id]
    if order_id is not None:
        where.append(AuditEventRow.order_id == order_id)
    query = (
        select(AuditEventRow)
        .where(*where)
        .order_by(AuditEventRow.id.desc())  # ids grow with time
        .offset(offset)
        .limit(limit)
    )
    total = session.scalar(select(func.count()).select_from(AuditEventRow).where(*where)) or 0
    return session.scalars(query).all(), total
