"""Events: one per change of an order, written in the change's own transaction.

The one write path of orders (``orders/repository/_writes.py``) hands every change it audits
to ``record`` as well: the audit row and the event are one record of the change, made in one
place. Events are kept in memory until the transaction is about to commit; then
``_write_pending`` gives them their sequence numbers (``repository.take_sequences``) and the
order documents as the change left them, and inserts them. Taking the number last means the
counter's lock is held only for the commit itself, and that an organization's numbers follow
commit order on both engines (docs/events.md explains why a reader never misses one).

A change undone by a savepoint's rollback takes its events with it (``_drop_undone``).
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import event as sqlalchemy_event
from sqlalchemy.orm import Session, SessionTransaction

from orderly.auth.models import Organization
from orderly.core.http import dump_json
from orderly.core.telemetry import EVENTS_WRITTEN
from orderly.events import repository

# Every event type: "order." and the audit trail's name of the change.
ACTIONS = (
    "created",
    "updated",
    "status_changed",
    "deleted",
    "shipment_created",
    "shipment_updated",
    "shipment_cancelled",
    "refund_created",
    "return_requested",
    "return_received",
    "note_added",
)
EVENT_TYPES = tuple(f"order.{action}" for action in ACTIONS)
DELETED = "deleted"

# Documents of orders by id, for the organization's ids asked (a deleted order has none).
DocumentBuilder = Callable[[Session, str, Sequence[str]], dict[str, dict[str, Any]]]

_PENDING = "orderly_pending_events"
_DOCUMENTS = "orderly_order_documents"
_BUILDER = "orderly_document_builder"
_WRITTEN = "orderly_events_written"

_SLICE = 1000  # changes written per query
_committed_listeners: list[Callable[[], None]] = []


def event_type(action: str) -> str:
    return f"order.{action}"


def event_id(audit_id: str) -> str:
    """An event shares its change's audit id (``aud_…`` becomes ``evt_…``)."""
    return "evt_" + audit_id.removeprefix("aud_")


def record(session: Session, changes: Sequence[dict[str, Any]], documents: DocumentBuilder) -> None:
    """Events for ``changes`` (audit rows), written when the session's transaction commits."""
    if not changes:
        return
    pending = session.info.setdefault(_PENDING, [])
    current = session.get_nested_transaction() or session.get_transaction()
    remembered = session.info.get(_DOCUMENTS)
    for change in changes:
        pending.append((current, change))
        if remembered:
            remembered.pop(change["order_id"], None)  # it changed since it was read
    session.info[_BUILDER] = documents


def remember_document(session: Session, order_id: str, document: dict[str, Any]) -> None:
    """An order's document as read after its last change in this transaction: its events
    take it instead of reading the order again (a write's answer is read this way)."""
    session.info.setdefault(_DOCUMENTS, {})[order_id] = document


class _Later:
    """Documents of several orders, made only if an event needs one of them (the write's
    answer may read them anyway)."""

    def __init__(self, make: Callable[[], dict[str, dict[str, Any]]]) -> None:
        self.make = make
        self.made: dict[str, dict[str, Any]] | None = None

    def document(self, order_id: str) -> dict[str, Any] | None:
        if self.made is None:
            self.made = self.make()
        return self.made.get(order_id)


def remember_documents(
    session: Session, order_ids: Sequence[str], make: Callable[[], dict[str, dict[str, Any]]]
) -> None:
    """``make()``: the documents of ``order_ids`` as they are now, from what the write holds
    (new orders' rows), for their events to take instead of a read."""
    later = _Later(make)
    remembered = session.info.setdefault(_DOCUMENTS, {})
    for order_id in order_ids:
        remembered[order_id] = later


def on_commit(listener: Callable[[], None]) -> None:
    """Call ``listener`` after every commit that wrote events (in the committing thread)."""
    _committed_listeners.append(listener)


def remove_listener(listener: Callable[[], None]) -> None:
    if listener in _committed_listeners:
        _committed_listeners.remove(listener)


def _within(transaction: SessionTransaction | None, ancestor: SessionTransaction) -> bool:
    while transaction is not None:
        if transaction is ancestor:
            return True
        transaction = transaction.parent
    return False


@sqlalchemy_event.listens_for(Session, "after_soft_rollback")
def _drop_undone(session: Session, previous: SessionTransaction) -> None:
    pending = session.info.get(_PENDING)
    if pending:
        pending[:] = [(t, change) for t, change in pending if not _within(t, previous)]
    session.info.pop(_DOCUMENTS, None)  # a document may show what was undone


@sqlalchemy_event.listens_for(Session, "after_transaction_end")
def _forget(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:
        session.info.pop(_PENDING, None)
        session.info.pop(_DOCUMENTS, None)


@sqlalchemy_event.listens_for(Session, "before_commit")
def _write_pending(session: Session) -> None:
    if session.in_nested_transaction():
        return
    pending = session.info.pop(_PENDING, None)
    if not pending:
        return
    remembered = session.info.pop(_DOCUMENTS, None) or {}
    build: DocumentBuilder = session.info[_BUILDER]
    by_organization: dict[str, list[dict[str, Any]]] = {}
    for _, change in pending:
        by_organization.setdefault(change["organization_id"], []).append(change)
    written = 0
    # Counters taken in one order: two transactions never wait for each other's.
    for organization_id in sorted(by_organization):
        changes = by_organization[organization_id]
        # In slices: an import's hundred thousand changes would not fit one query's parameters
        # (nor their documents in memory at once).
        for start in range(0, len(changes), _SLICE):
            part = changes[start : start + _SLICE]
            documents: dict[str, Any] = {}
            wanted = []
            for order_id in dict.fromkeys(change["order_id"] for change in part):
                known = remembered.get(order_id)
                if isinstance(known, _Later):
                    known = known.document(order_id)
                if known is None:
                    wanted.append(order_id)
                else:
                    documents[order_id] = known
            if wanted:
                documents.update(build(session, organization_id, wanted))
            last = repository.take_sequences(session, organization_id, len(part))
            first = last - len(part) + 1
            repository.insert(
                session,
                [_row(change, first + index, documents) for index, change in enumerate(part)],
            )
            written += len(part)
    session.info[_WRITTEN] = written


@sqlalchemy_event.listens_for(Session, "after_commit")
def _count_written(session: Session) -> None:
    written = session.info.pop(_WRITTEN, 0)
    if written:
        EVENTS_WRITTEN.inc(written)
        for listener in _committed_listeners:
            listener()


def _row(change: dict[str, Any], sequence: int, documents: dict[str, Any]) -> dict[str, Any]:
    order_id = change["order_id"]
    document = None if change["action"] == DELETED else documents.get(order_id)
    identifier = event_id(change["id"])
    kind = event_type(change["action"])
    body = {
        "id": identifier,
        "type": kind,
        "sequence": sequence,
        "occurred_at": change["at"],
        "actor": change["actor"],
        "order_id": order_id,
        "data": {"order": document or {"id": order_id}, "details": change["details"]},
    }
    return {
        "organization_id": change["organization_id"],
        "sequence": sequence,
        "id": identifier,
        "type": kind,
        "order_id": order_id,
        "occurred_at": change["at"],
        "body": dump_json(body).decode(),
    }


# ---- the feed ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class EventPage:
    bodies: list[str]  # each event's JSON, oldest first
    next_cursor: str  # the last sequence number given (or ``after`` when none was)
    has_next: bool


def feed(
    session: Session,
    organization: Organization,
    *,
    after: int,
    types: Sequence[str],
    order_id: str | None,
    limit: int,
) -> EventPage:
    rows = repository.page(
        session, organization.id, after=after, types=types, order_id=order_id, limit=limit + 1
    )
    has_next = len(rows) > limit
    rows = rows[:limit]
    cursor = rows[-1][0] if rows else after
    return EventPage(bodies=[body for _, body in rows], next_cursor=str(cursor), has_next=has_next)


def last_sequence(session: Session, organization: Organization) -> int:
    return repository.last_sequence(session, organization.id)


def prune(session: Session, now: datetime, days: int) -> int:
    return repository.prune(session, now - timedelta(days=days))
