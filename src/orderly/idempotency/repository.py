"""Queries of idempotency keys."""

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from orderly.idempotency.models import IdempotentRequest


def get_locked(session: Session, organization_id: str, key: str) -> IdempotentRequest | None:
    query = (
        select(IdempotentRequest)
        .where(IdempotentRequest.organization_id == organization_id, IdempotentRequest.key == key)
        .with_for_update()
    )
    return session.scalars(query).one_or_none()


def remove_older_than(session: Session, before: datetime) -> int:
    result = session.execute(delete(IdempotentRequest).where(IdempotentRequest.created < before))
    return int(getattr(result, "rowcount", 0) or 0)
