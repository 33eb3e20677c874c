"""Push back: a change made in Orderly to a platform's order is told to that platform.

The events feed is the outbox: each connection that pushes reads its organization's events
after its own cursor, keeps those about its orders that the platform can hear (``Channel.
pushed``) as pushes, and moves the cursor in the same transaction. A change the platform
itself made (an actor ``connection:``, ``reconciliation:`` or ``backfill:``) is never sent
back. Pushes are sent at least once, an order's in the order they were made, retried with
backoff; a 4xx is kept as refused, on the order and in the connection's log, until retried.
"""

import json
import logging
from collections.abc import Iterator, Mapping
from datetime import timedelta
from functools import partial
from typing import Any

import aiohttp
from sqlalchemy.orm import Session

from orderly.auth.models import Organization
from orderly.core.config import get_settings
from orderly.core.db import Database, utc_now
from orderly.core.errors import Conflict, NotFound
from orderly.core.ids import random_token
from orderly.events import repository as events_repository
from orderly.integrations import repository, service
from orderly.integrations.channels import CHANNELS
from orderly.integrations.channels.base import (
    Call,
    Change,
    Credentials,
    MalformedAnswer,
    Shipment,
)
from orderly.integrations.channels.client import (
    CredentialsRefused,
    PlatformClient,
    PlatformError,
    Refused,
)
from orderly.integrations.models import ConnectionRow, Platform, PushRow, PushState
from orderly.integrations.sync import open_credentials
from orderly.orders.statuses import OrderStatus

log = logging.getLogger(__name__)

# Changes that came from a platform: never echoed back.
PLATFORM_ACTORS = repository.PLATFORM_ACTOR_PREFIXES
_TYPES = ("order.status_changed", "order.shipment_created", "order.refund_created")
EVENTS_A_ROUND = 500
PUSHES_A_ROUND = 200
LEASE = timedelta(minutes=10)  # longer than a call's every retry


class PushNotFound(NotFound):
    message = "Push not found"


class NotRetryable(Conflict):
    message = "Only a refused or failed push can be retried"


def connection_of_order(session: Session, organization_id: str, order_id: str) -> str | None:
    """The connection a platform's order came through: the first of its changes in the audit
    trail that a connection made names it."""
    actor = repository.platform_actor_of_order(session, organization_id, order_id)
    return actor.partition(":")[2] if actor else None


def changes_of(event: Mapping[str, Any]) -> Iterator[Change]:
    """What an event tells a platform, before the platform's channel says what it can hear."""
    order = event["data"]["order"]
    details = event["data"].get("details") or {}
    external_id = order.get("external_id")
    if not external_id:
        return
    if event["type"] == "order.status_changed":
        for field, _before, after in details.get("changes") or []:
            if field == "status":
                yield Change(action="status", external_id=external_id, status=OrderStatus(after))
    elif event["type"] == "order.shipment_created":
        for shipment in order.get("shipments") or []:
            if shipment.get("id") == details.get("shipment_id"):
                yield Change(
                    action="shipment",
                    external_id=external_id,
                    shipment=Shipment(
                        carrier=shipment.get("carrier"),
                        tracking_number=shipment.get("tracking_number"),
                        tracking_url=shipment.get("tracking_url"),
                        lines=[(line["line"], line["quantity"]) for line in shipment["lines"]],
                    ),
                )
    elif event["type"] == "order.refund_created":
        yield Change(
            action="refund",
            external_id=external_id,
            refund_amount=details.get("amount"),
            refund_reason=details.get("reason"),
        )


def _queue_for(session: Session, connection: ConnectionRow) -> int:
    channel = CHANNELS.get(Platform(connection.platform))
    rows = events_repository.page(
        session,
        connection.organization_id,
        after=connection.push_after,
        types=_TYPES,
        order_id=None,
        limit=EVENTS_A_ROUND,
    )
    now = utc_now()
    queued = 0
    for sequence, body in rows:
        connection.push_after = sequence
        event = json.loads(body)
        order = event["data"]["order"]
        if (
            channel is None
            or str(event.get("actor") or "").startswith(PLATFORM_ACTORS)
            or order.get("source") != connection.platform
            or connection_of_order(session, connection.organization_id, event["order_id"])
            != connection.id
        ):
            continue
        for change in changes_of(event):
            if not channel.pushed(change):
                continue
            session.add(
                PushRow(
                    organization_id=connection.organization_id,
                    id=f"psh_{random_token(20)}",
                    connection_id=connection.id,
                    order_id=event["order_id"],
                    external_id=change.external_id,
                    event_sequence=sequence,
                    action=change.action,
                    change=change.as_json(),
                    state=PushState.PENDING.value,
                    attempts=0,
                    created=now,
                    next_attempt_at=now,
                )
            )
            queued += 1
    return queued


def queue(session: Session) -> int:
    """Turn every pushing connection's new events into pushes; returns how many."""
    queued = 0
    for connection in repository.push_connections(session):
        # Each connection's cursor row is locked by its update: two workers reading the same
        # events would both try to move it, and one waits for the other.
        queued += _queue_for(session, connection)
    session.flush()
    return queued


def _claim(session: Session) -> list[tuple[PushRow, ConnectionRow]]:
    now = utc_now()
    claimed: list[tuple[PushRow, ConnectionRow]] = []
    waiting: set[tuple[str, str]] = set()
    for push in repository.pending_pushes(session, PUSHES_A_ROUND):
        order = (push.organization_id, push.order_id)
        if order in waiting:
            continue
        waiting.add(order)  # later pushes of the order wait for this one
        if push.next_attempt_at > now:
            continue
        if repository.claim_push(session, push, now=now, until=now + LEASE):
            connection = repository.get_connection(
                session, push.organization_id, push.connection_id
            )
            if connection is not None and connection.credentials:
                claimed.append((push, connection))
    return claimed


def _record(
    session: Session,
    push: PushRow,
    *,
    calls: list[Call],
    error: PlatformError | MalformedAnswer | None,
) -> None:
    now = utc_now()
    row = repository.get_push(session, push.organization_id, push.id)
    if row is None:
        return
    row.attempts += 1
    row.last_request = "\n".join(call.describe() for call in calls) or row.last_request
    row.last_status = getattr(error, "status", None)
    row.last_error = str(error) if error else None
    if error is None:
        row.state, row.finished = PushState.SENT.value, now
    elif isinstance(error, Refused | CredentialsRefused):
        row.state, row.finished = PushState.REFUSED.value, now
        if isinstance(error, CredentialsRefused):
            connection = repository.get_connection(
                session, push.organization_id, push.connection_id
            )
            if connection is not None:
                connection.attention = str(error)
    elif now - row.created > timedelta(hours=get_settings().push_retry_hours):
        row.state, row.finished = PushState.FAILED.value, now
    else:
        base = get_settings().platform_retry_base_seconds
        row.next_attempt_at = now + timedelta(seconds=min(base * 2**row.attempts, 3600))
    session.flush()


class _Recording:
    """A caller that keeps what it sent, for the push's log."""

    def __init__(self, client: PlatformClient) -> None:
        self.client = client
        self.calls: list[Call] = []

    async def __call__(self, call: Call) -> Any:
        self.calls.append(call)
        return await self.client(call)


async def send_due(database: Database, http: aiohttp.ClientSession) -> int:
    """Queue new events as pushes and send those that are due; returns how many were sent."""
    now = utc_now()
    if not await database.run(partial(repository.push_work_waits, now=now), write=False):
        return 0
    await database.run(queue, write=True)
    claimed = await database.run(_claim, write=True)
    opened: dict[tuple[str, str], Credentials] = {}  # one decryption per connection a round
    for push, connection in claimed:
        key = (connection.organization_id, connection.id)
        if key not in opened:
            opened[key] = await database.run(
                partial(open_credentials, connection=connection), write=False
            )
        credentials = opened[key]
        channel = CHANNELS[Platform(connection.platform)]
        caller = _Recording(PlatformClient(http, channel, credentials))
        error: PlatformError | MalformedAnswer | None = None
        try:
            await channel.push(caller, Change.of(push.change))
        except (PlatformError, MalformedAnswer) as exc:
            error = exc
            log.warning("Push %s to %s: %s", push.id, connection.id, exc)
        await database.run(partial(_record, push=push, calls=caller.calls, error=error), write=True)
    return len(claimed)


# ---- reading and retrying ---------------------------------------------------------------------


def list_pushes(
    session: Session,
    organization: Organization,
    connection_id: str,
    *,
    state: str | None,
    order_id: str | None,
    limit: int,
) -> list[PushRow]:
    connection = service.get_connection(session, organization, connection_id)
    return list(
        repository.list_pushes(
            session,
            organization.id,
            connection_id=connection.id,
            order_id=order_id,
            states=[state] if state else None,
            limit=limit,
        )
    )


def pushes_of_order(session: Session, organization: Organization, order_id: str) -> list[PushRow]:
    return list(repository.list_pushes(session, organization.id, order_id=order_id, limit=20))


def retry(
    session: Session, organization: Organization, connection_id: str, push_id: str
) -> PushRow:
    connection = service.get_connection(session, organization, connection_id)
    push = repository.get_push(session, organization.id, push_id) if push_id else None
    if push is None or push.connection_id != connection.id:
        raise PushNotFound(details={"id": push_id})
    if push.state not in (PushState.REFUSED.value, PushState.FAILED.value):
        raise NotRetryable(details={"id": push_id, "state": push.state})
    push.state, push.finished, push.next_attempt_at = PushState.PENDING.value, None, utc_now()
    push.created = utc_now()  # its retry time runs from now
    session.flush()
    return push
