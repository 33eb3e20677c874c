"""Queries of the audit trail."""

from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from orderly.audit.models import AuditEventRow


def record(session: Session, events: list[dict[str, Any]]) -> None:
    """Insert audit events (rows of ``audit_events``) in one statement."""
    if events:
        session.connection().execute(insert(AuditEventRow), events)


def list_events(
    session: Session, organization_id: str, order_id: str | None, *, offset: int, limit: int
) -> tuple[Sequence[AuditEventRow], int]:
    where = [AuditEventRow.organization_id == organization_id]
    if order_id is not None:
        where.append(AuditEventRow.order_id == order_id)
    query = (
        select(AuditEventRow)
        .where(*where)
        .order_by(AuditEventRow.at.desc(), AuditEventRow.id.desc())
        .offset(offset)
        .limit(limit)
    )
    total = session.scalar(select(func.count()).select_from(AuditEventRow).where(*where)) or 0
    return session.scalars(query).all(), total
