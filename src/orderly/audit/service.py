"""Recording and reading the audit trail.

Recorded by the one write path of orders (``orders/repository/_writes.py``: inserts, status
changes, revisions, deletions, and shipments, refunds, returns and notes), in the write's own
transaction: a change and its record commit together or not at all.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from orderly.audit import repository
from orderly.audit.models import AuditEventRow
from orderly.audit.schemas import AuditQuery
from orderly.auth.models import Organization
from orderly.core.actor import current_actor
from orderly.core.db import utc_now
from orderly.core.ids import time_ordered_id

CREATED, UPDATED, STATUS_CHANGED, DELETED = "created", "updated", "status_changed", "deleted"
SHIPMENT_CREATED, SHIPMENT_UPDATED = "shipment_created", "shipment_updated"
SHIPMENT_CANCELLED, REFUND_CREATED = "shipment_cancelled", "refund_created"
RETURN_REQUESTED, RETURN_RECEIVED, NOTE_ADDED = "return_requested", "return_received", "note_added"


def event(
    organization_id: str,
    order_id: str,
    action: str,
    details: dict[str, Any],
    *,
    actor: str | None = None,
    at: datetime | None = None,
) -> dict[str, Any]:
    """An audit row; the actor defaults to whoever the unit of work runs for."""
    at = at or utc_now()
    return {
        "organization_id": organization_id,
        "id": new_event_id(at),
        "at": at,
        "actor": (actor or current_actor.get())[:80],
        "action": action,
        "order_id": order_id,
        "details": details,
    }


def new_event_id(at: datetime) -> str:
    """Ids in the order events happened (see ``AuditEventRow``)."""
    return time_ordered_id("aud", at)


def record(session: Session, events: Iterable[dict[str, Any]]) -> None:
    repository.record(session, list(events))


@dataclass(frozen=True)
class AuditPage:
    events: list[AuditEventRow]
    total: int


def list_events(session: Session, organization: Organization, query: AuditQuery) -> AuditPage:
    events, total = repository.list_events(
        session,
        organization.id,
        query.order_id,
        offset=(query.page - 1) * query.limit,
        limit=query.limit,
    )
    return AuditPage(list(events), total)
