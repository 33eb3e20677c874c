"""Timeline notes: what staff write on an order for the next shift, kept beside its
history (the order's own ``notes`` stay the customer's delivery notes)."""

from sqlalchemy.orm import Session

from orderly.audit import service as audit
from orderly.auth.models import Organization
from orderly.core.db import utc_now
from orderly.orders.models import NoteRow
from orderly.orders.repository import Kind
from orderly.orders.schemas import NoteCreate
from orderly.orders.service._records import (
    actor,
    lock_order,
    new_record_id,
    record_change,
    write,
)


def add_note(
    session: Session,
    organization: Organization,
    order_id: str,
    data: NoteCreate,
    if_match: str | None = None,
) -> str:
    """Write a note on an order's timeline; returns its id."""
    locked = lock_order(session, organization, order_id, if_match, kinds=())
    now = utc_now()
    row = {
        "order_id": locked.row.id,
        "id": new_record_id(Kind.NOTE, organization.id),
        "text": data.text,
        "created": now,
        "actor": actor(),
    }
    change = record_change(
        locked,
        locked.progress(),
        action=audit.NOTE_ADDED,
        details={"note_id": row["id"], "length": len(data.text)},
        history_source="",
        inserts=[(NoteRow, row)],
    )
    write(session, organization, change, now)
    return str(row["id"])
