"""Every query of webhook endpoints, their deliveries and attempts.

The dispatcher's queries (``endpoints_behind``, ``claim_due``) look across organizations: it
serves them all. On PostgreSQL they take their rows ``FOR UPDATE SKIP LOCKED``, so that many
dispatchers share the work without waiting for each other or taking the same row; on SQLite
the writer lock already makes every dispatcher's transaction run alone.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import (
    Row,
    Table,
    and_,
    bindparam,
    case,
    delete,
    exists,
    func,
    or_,
    select,
    tuple_,
    update,
)
from sqlalchemy.orm import Session, aliased

from orderly.core.direct import DirectInsert
from orderly.events.models import EventRow, EventSequence
from orderly.webhooks.models import (
    DeliveryState,
    WebhookAttemptRow,
    WebhookDeliveryRow,
    WebhookEndpointRow,
)

_PENDING = DeliveryState.PENDING.value
_INSERT_DELIVERIES = DirectInsert(cast(Table, WebhookDeliveryRow.__table__))
_INSERT_ATTEMPTS = DirectInsert(cast(Table, WebhookAttemptRow.__table__))


def _skip_locked(session: Session, query: Any, *of: Any) -> Any:
    if session.get_bind().dialect.name == "postgresql":
        return query.with_for_update(of=of, skip_locked=True)
    return query


# ---- endpoints ---------------------------------------------------------------------------------


def add_endpoint(session: Session, endpoint: WebhookEndpointRow) -> None:
    session.add(endpoint)
    session.flush()


def get_endpoint(
    session: Session, organization_id: str, endpoint_id: str, *, lock: bool = False
) -> WebhookEndpointRow | None:
    query = select(WebhookEndpointRow).where(
        WebhookEndpointRow.organization_id == organization_id,
        WebhookEndpointRow.id == endpoint_id,
    )
    if lock:
        query = query.with_for_update()
    return session.scalars(query).first()


def list_endpoints(session: Session, organization_id: str) -> Sequence[WebhookEndpointRow]:
    return session.scalars(
        select(WebhookEndpointRow)
        .where(WebhookEndpointRow.organization_id == organization_id)
        .order_by(WebhookEndpointRow.created, WebhookEndpointRow.id)
    ).all()


def delete_endpoint(session: Session, endpoint: WebhookEndpointRow) -> None:
    session.delete(endpoint)
    session.flush()


@dataclass(frozen=True)
class Health:
    attempts: int
    succeeded: int
    pending: int
    last_attempt_at: datetime | None
    last_error: str | None


def health(
    session: Session, organization_id: str, endpoint_ids: Sequence[str], since: datetime
) -> dict[str, Health]:
    """Each endpoint's attempts since ``since`` (and how many were answered 2xx), its pending
    deliveries, and its last attempt and last failure."""
    if not endpoint_ids:
        return {}
    d, a = WebhookDeliveryRow, WebhookAttemptRow
    ok = and_(a.status_code >= 200, a.status_code < 300)
    attempts = {
        row.endpoint_id: row
        for row in session.execute(
            select(
                d.endpoint_id,
                func.count().label("attempts"),
                func.sum(case((ok, 1), else_=0)).label("succeeded"),
                func.max(a.at).label("last_at"),
            )
            .join(a, and_(a.organization_id == d.organization_id, a.delivery_id == d.id))
            .where(
                d.organization_id == organization_id,
                d.endpoint_id.in_(endpoint_ids),
                a.at >= since,
            )
            .group_by(d.endpoint_id)
        )
    }
    pending = dict(
        session.execute(
            select(d.endpoint_id, func.count())
            .where(
                d.organization_id == organization_id,
                d.endpoint_id.in_(endpoint_ids),
                d.state == _PENDING,
            )
            .group_by(d.endpoint_id)
        ).all()
    )
    errors = dict(
        session.execute(
            select(d.endpoint_id, d.last_error)
            .where(
                d.organization_id == organization_id,
                d.endpoint_id.in_(endpoint_ids),
                d.last_error.is_not(None),
            )
            .order_by(d.endpoint_id, d.id.desc())
        ).all()[::-1]  # the newest per endpoint wins: later items overwrite earlier ones
    )
    return {
        endpoint_id: Health(
            attempts=int(attempts[endpoint_id].attempts) if endpoint_id in attempts else 0,
            succeeded=int(attempts[endpoint_id].succeeded or 0) if endpoint_id in attempts else 0,
            pending=int(pending.get(endpoint_id, 0)),
            last_attempt_at=attempts[endpoint_id].last_at if endpoint_id in attempts else None,
            last_error=errors.get(endpoint_id),
        )
        for endpoint_id in endpoint_ids
    }


# ---- the delivery log -------------------------------------------------------------------------


def list_deliveries(
    session: Session,
    organization_id: str,
    endpoint_id: str,
    state: str | None,
    *,
    offset: int,
    limit: int,
) -> tuple[Sequence[WebhookDeliveryRow], int]:
    d = WebhookDeliveryRow
    where = [d.organization_id == organization_id, d.endpoint_id == endpoint_id]
    if state is not None:
        where.append(d.state == state)
    rows = session.scalars(
        select(d).where(*where).order_by(d.id.desc()).offset(offset).limit(limit)
    ).all()
    total = session.scalar(select(func.count()).select_from(d).where(*where)) or 0
    return rows, int(total)


def attempts_of(
    session: Session, organization_id: str, delivery_ids: Sequence[str]
) -> dict[str, list[WebhookAttemptRow]]:
    found: dict[str, list[WebhookAttemptRow]] = {delivery_id: [] for delivery_id in delivery_ids}
    if delivery_ids:
        for attempt in session.scalars(
            select(WebhookAttemptRow)
            .where(
                WebhookAttemptRow.organization_id == organization_id,
                WebhookAttemptRow.delivery_id.in_(delivery_ids),
            )
            .order_by(WebhookAttemptRow.delivery_id, WebhookAttemptRow.number)
        ):
            found[attempt.delivery_id].append(attempt)
    return found


def get_delivery(
    session: Session, organization_id: str, endpoint_id: str, delivery_id: str
) -> WebhookDeliveryRow | None:
    return session.scalars(
        select(WebhookDeliveryRow)
        .where(
            WebhookDeliveryRow.organization_id == organization_id,
            WebhookDeliveryRow.endpoint_id == endpoint_id,
            WebhookDeliveryRow.id == delivery_id,
        )
        .with_for_update()
    ).first()


def queue(session: Session, deliveries: Sequence[dict[str, Any]]) -> None:
    """Insert deliveries (rows of ``webhook_deliveries``)."""
    _INSERT_DELIVERIES.run(session, deliveries)


# ---- the dispatcher ----------------------------------------------------------------------------


def _is_due(d: Any, e: Any, now: datetime) -> Any:
    """A delivery that may be sent now: pending, due, not leased, its endpoint enabled, and
    the earliest still pending of its order at its endpoint (an order's events arrive in
    order)."""
    earlier = aliased(WebhookDeliveryRow)
    waits = exists().where(
        earlier.organization_id == d.organization_id,
        earlier.endpoint_id == d.endpoint_id,
        earlier.order_id == d.order_id,
        earlier.state == _PENDING,
        earlier.event_sequence < d.event_sequence,
    )
    return and_(
        d.state == _PENDING,
        d.next_attempt_at <= now,
        or_(d.leased_until.is_(None), d.leased_until < now),
        e.organization_id == d.organization_id,
        e.id == d.endpoint_id,
        e.enabled.is_(True),
        ~waits,
    )


@dataclass(frozen=True)
class Outlook:
    serving: bool  # some endpoint is enabled
    work: bool  # an endpoint has events to queue, or a delivery can be sent now


def outlook(session: Session, now: datetime) -> Outlook:
    """A cheap look before taking the writer's turn, with the same conditions as the work
    itself, so that deliveries that wait (for their endpoint, or for their order's earlier
    ones) never keep the dispatcher busy."""
    e, s, d = WebhookEndpointRow, EventSequence, WebhookDeliveryRow
    serving = exists().where(e.enabled.is_(True))
    behind = exists().where(
        e.enabled.is_(True),
        s.organization_id == e.organization_id,
        e.after_sequence < s.last,
    )
    endpoint = aliased(WebhookEndpointRow)
    due = exists().where(_is_due(d, endpoint, now))
    row = session.execute(select(serving, or_(behind, due))).one()
    return Outlook(serving=bool(row[0]), work=bool(row[1]))


def endpoints_behind(session: Session, limit: int) -> Sequence[WebhookEndpointRow]:
    """Enabled endpoints with events not yet queued for them, locked for this dispatcher."""
    e, s = WebhookEndpointRow, EventSequence
    query = (
        select(e)
        .join(s, s.organization_id == e.organization_id)
        .where(e.enabled.is_(True), e.after_sequence < s.last)
        .order_by(e.organization_id, e.id)
        .limit(limit)
    )
    return session.scalars(_skip_locked(session, query, e)).all()


def events_after(
    session: Session, organization_id: str, after: int, limit: int
) -> Sequence[Row[int, str, str, str]]:
    """(sequence, id, type, order id) of the organization's events after ``after``."""
    return session.execute(
        select(EventRow.sequence, EventRow.id, EventRow.type, EventRow.order_id)
        .where(EventRow.organization_id == organization_id, EventRow.sequence > after)
        .order_by(EventRow.sequence)
        .limit(limit)
    ).all()


@dataclass(frozen=True)
class Claimed:
    organization_id: str
    id: str
    endpoint_id: str
    url: str
    secret: str  # sealed
    event_id: str
    body: str | None  # None: the event is no longer kept
    attempts: int
    created: datetime


def claim_due(session: Session, now: datetime, lease_until: datetime, limit: int) -> list[Claimed]:
    """Take up to ``limit`` due deliveries, each the earliest still pending of its order at
    its endpoint (an order's events arrive in order), and lease them until ``lease_until``."""
    d, e = WebhookDeliveryRow, WebhookEndpointRow
    # Each order's first pending delivery at each endpoint, found by one grouping of the
    # pending ones: the same as ``_is_due``'s wait, but a plan that stays linear (with a fresh
    # table's missing statistics, PostgreSQL ran the wait as a scan per delivery).
    pending = aliased(WebhookDeliveryRow)
    heads = (
        select(
            pending.organization_id,
            pending.endpoint_id,
            pending.order_id,
            func.min(pending.event_sequence).label("first"),
        )
        .where(pending.state == _PENDING)
        .group_by(pending.organization_id, pending.endpoint_id, pending.order_id)
        .subquery()
    )
    query = (
        select(d.organization_id, d.id)
        .join(
            heads,
            and_(
                heads.c.organization_id == d.organization_id,
                heads.c.endpoint_id == d.endpoint_id,
                heads.c.order_id == d.order_id,
                heads.c.first == d.event_sequence,
            ),
        )
        .join(e, and_(e.organization_id == d.organization_id, e.id == d.endpoint_id))
        .where(
            d.state == _PENDING,
            d.next_attempt_at <= now,
            or_(d.leased_until.is_(None), d.leased_until < now),
            e.enabled.is_(True),
        )
        .order_by(d.next_attempt_at, d.event_sequence)
        .limit(limit)
    )
    keys = session.execute(_skip_locked(session, query, d)).all()
    if not keys:
        return []
    # Row values (``(organization_id, id) IN (…)``): one index probe per key, where 200 ORed
    # pairs cost PostgreSQL a second to plan and run.
    chosen = tuple_(d.organization_id, d.id).in_([tuple(key) for key in keys])
    session.execute(update(d).where(chosen).values(leased_until=lease_until))
    rows = session.execute(
        select(
            d.organization_id,
            d.id,
            d.endpoint_id,
            e.url,
            e.secret,
            d.event_id,
            EventRow.body,
            d.attempts,
            d.created,
        )
        .join(e, and_(e.organization_id == d.organization_id, e.id == d.endpoint_id))
        .outerjoin(
            EventRow,
            and_(
                EventRow.organization_id == d.organization_id,
                EventRow.sequence == d.event_sequence,
            ),
        )
        .where(chosen)
        .order_by(d.event_sequence)
    ).all()
    return [Claimed(*row) for row in rows]


def finish(session: Session, updates: Sequence[dict[str, Any]]) -> None:
    """Write each attempted delivery's new state (``of_org``, ``of_id`` and its columns)."""
    if not updates:
        return
    table = cast(Table, WebhookDeliveryRow.__table__)
    columns = ("state", "attempts", "next_attempt_at", "leased_until", "finished")
    statement = (
        update(table)
        .where(table.c.organization_id == bindparam("of_org"), table.c.id == bindparam("of_id"))
        .values(
            {
                name: bindparam(f"new_{name}", type_=table.c[name].type)
                for name in (*columns, "last_status", "last_error")
            }
        )
    )
    session.connection().execute(statement, list(updates))


def add_attempts(session: Session, attempts: Sequence[dict[str, Any]]) -> None:
    _INSERT_ATTEMPTS.run(session, attempts)


def hurry(session: Session, organization_id: str, endpoint_id: str, now: datetime) -> None:
    """An endpoint that answers again: its deliveries waiting out a backoff are due now."""
    d = WebhookDeliveryRow
    session.execute(
        update(d)
        .where(
            d.organization_id == organization_id,
            d.endpoint_id == endpoint_id,
            d.state == _PENDING,
            d.next_attempt_at > now,
        )
        .values(next_attempt_at=now)
    )


def lock_endpoints(
    session: Session, keys: Sequence[tuple[str, str]]
) -> dict[tuple[str, str], WebhookEndpointRow]:
    if not keys:
        return {}
    e = WebhookEndpointRow
    wanted = or_(
        *(and_(e.organization_id == org, e.id == endpoint_id) for org, endpoint_id in keys)
    )
    rows = session.scalars(select(e).where(wanted).with_for_update()).all()
    return {(row.organization_id, row.id): row for row in rows}


@dataclass(frozen=True)
class Backlog:
    pending: int
    oldest: datetime | None  # when the oldest pending delivery was queued


def backlog(session: Session) -> Backlog:
    d = WebhookDeliveryRow
    row = session.execute(
        select(func.count(), func.min(d.created)).where(d.state == _PENDING)
    ).one()
    oldest = row[1]
    if isinstance(oldest, str):  # SQLite's MIN of a time column comes back as text
        oldest = datetime.fromisoformat(oldest)
    return Backlog(pending=int(row[0]), oldest=oldest)


def prune(session: Session, before: datetime) -> int:
    """Finished deliveries (and their attempts, by cascade) from before ``before``."""
    d = WebhookDeliveryRow
    result = session.execute(
        delete(WebhookDeliveryRow).where(d.state != _PENDING, d.finished < before)
    )
    return int(getattr(result, "rowcount", 0) or 0)
