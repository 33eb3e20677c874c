"""Webhook endpoints and their delivery log: the rules (the dispatcher is ``dispatcher.py``).

An endpoint starts with the events that commit after it is made. Disabled (by hand, by a 410,
or after failing for the whole retry window), it is sent nothing; enabled again, it is sent
what it missed meanwhile, from where it stopped, as long as those events are kept.
"""

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from orderly.auth.models import Organization
from orderly.core.config import get_settings
from orderly.core.crypto import SecretBox, session_box
from orderly.core.db import utc_now
from orderly.core.errors import Conflict, NotFound
from orderly.core.http import dump_json
from orderly.core.ids import new_keyed_id, random_token, time_ordered_id
from orderly.events import repository as events
from orderly.webhooks import repository, sender
from orderly.webhooks.models import DeliveryState, WebhookDeliveryRow, WebhookEndpointRow
from orderly.webhooks.schemas import ALL_EVENTS, EndpointCreate, EndpointUpdate

_PREFIX, _RANDOM_LENGTH = "whe", 16
_ENDPOINT_ID = re.compile(rf"{_PREFIX}_[a-z0-9]{{12}}_[a-z0-9]{{{_RANDOM_LENGTH}}}")
_DELIVERY_ID = re.compile(r"whd_[a-z0-9]{19}")


class EndpointNotFound(NotFound):
    message = "Webhook endpoint not found"


class WebhookDeliveryNotFound(NotFound):
    message = "Delivery not found"


class EndpointDisabled(Conflict):
    message = "The endpoint is disabled: enable it first"


def new_delivery_id(at: datetime) -> str:
    return time_ordered_id("whd", at)


@dataclass(frozen=True)
class NewEndpoint:
    endpoint: WebhookEndpointRow
    secret: str  # shown once


def create_endpoint(
    session: Session, organization: Organization, data: EndpointCreate
) -> NewEndpoint:
    secret = sender.new_secret()
    now = utc_now()
    endpoint = WebhookEndpointRow(
        organization_id=organization.id,
        id=new_keyed_id(_PREFIX, organization.id, _RANDOM_LENGTH),
        url=data.url,
        description=data.description,
        event_types=data.events,
        enabled=data.enabled,
        secret=session_box(session).seal(secret),
        created=now,
        updated=now,
        # From the next event on: what happened before it existed is not sent (resend asks).
        after_sequence=events.last_sequence(session, organization.id),
        failing_since=None,
        disabled_reason=None,
    )
    repository.add_endpoint(session, endpoint)
    return NewEndpoint(endpoint, secret)


def get_endpoint(
    session: Session, organization: Organization, endpoint_id: str, *, lock: bool = False
) -> WebhookEndpointRow:
    endpoint = (
        repository.get_endpoint(session, organization.id, endpoint_id, lock=lock)
        if _ENDPOINT_ID.fullmatch(endpoint_id)
        else None
    )
    if endpoint is None:
        raise EndpointNotFound(details={"id": endpoint_id})
    return endpoint


def list_endpoints(session: Session, organization: Organization) -> Sequence[WebhookEndpointRow]:
    return repository.list_endpoints(session, organization.id)


def health(
    session: Session, organization: Organization, endpoints: Sequence[WebhookEndpointRow]
) -> dict[str, dict[str, Any]]:
    """Each endpoint's health over the last 24 hours."""
    found = repository.health(
        session, organization.id, [e.id for e in endpoints], utc_now() - timedelta(hours=24)
    )
    return {
        endpoint_id: {
            "attempts_24h": h.attempts,
            "success_rate_24h": round(h.succeeded / h.attempts, 4) if h.attempts else None,
            "pending": h.pending,
            "last_attempt_at": h.last_attempt_at,
            "last_error": h.last_error,
        }
        for endpoint_id, h in found.items()
    }


def update_endpoint(
    session: Session, organization: Organization, endpoint_id: str, data: EndpointUpdate
) -> WebhookEndpointRow:
    endpoint = get_endpoint(session, organization, endpoint_id, lock=True)
    if data.url is not None:
        endpoint.url = data.url
    if data.events is not None:
        endpoint.event_types = data.events
    if "description" in data.model_fields_set:
        endpoint.description = data.description
    if data.enabled is not None and data.enabled != endpoint.enabled:
        endpoint.enabled = data.enabled
        endpoint.disabled_reason = None
        endpoint.failing_since = None
    endpoint.updated = utc_now()
    session.flush()
    return endpoint


def delete_endpoint(session: Session, organization: Organization, endpoint_id: str) -> None:
    repository.delete_endpoint(session, get_endpoint(session, organization, endpoint_id, lock=True))


def rotate_secret(session: Session, organization: Organization, endpoint_id: str) -> NewEndpoint:
    """A new secret, used from the next attempt on; the old one stops at once."""
    endpoint = get_endpoint(session, organization, endpoint_id, lock=True)
    secret = sender.new_secret()
    endpoint.secret = session_box(session).seal(secret)
    endpoint.updated = utc_now()
    session.flush()
    return NewEndpoint(endpoint, secret)


def reseal_secrets(session: Session, secrets: SecretBox) -> int:
    """Encrypt every endpoint's secret under the newest key (``orderly secrets rotate``)."""
    endpoints = session.query(WebhookEndpointRow).all()
    for endpoint in endpoints:
        endpoint.secret = secrets.reseal(endpoint.secret)
    session.flush()
    return len(endpoints)


def wants(endpoint: WebhookEndpointRow, event_type: str) -> bool:
    return ALL_EVENTS in endpoint.event_types or event_type in endpoint.event_types


def new_delivery(
    endpoint: WebhookEndpointRow,
    sequence: int,
    event_id: str,
    kind: str,
    order_id: str,
    now: datetime,
    index: int = 0,
) -> dict[str, Any]:
    """A pending delivery row; ``index`` (its place among those queued together) keeps their
    ids, which the log lists by, in event order."""
    return {
        "organization_id": endpoint.organization_id,
        "id": new_delivery_id(now + timedelta(microseconds=index)),
        "endpoint_id": endpoint.id,
        "event_sequence": sequence,
        "event_id": event_id,
        "event_type": kind,
        "order_id": order_id,
        "state": DeliveryState.PENDING.value,
        "attempts": 0,
        "created": now,
        "next_attempt_at": now,
        "leased_until": None,
        "finished": None,
        "last_status": None,
        "last_error": None,
    }


# ---- the delivery log ------------------------------------------------------------------------


@dataclass(frozen=True)
class DeliveryPage:
    deliveries: Sequence[WebhookDeliveryRow]
    attempts: dict[str, list[Any]]
    total: int


def list_deliveries(
    session: Session,
    organization: Organization,
    endpoint_id: str,
    state: str | None,
    *,
    page: int,
    limit: int,
) -> DeliveryPage:
    get_endpoint(session, organization, endpoint_id)
    rows, total = repository.list_deliveries(
        session, organization.id, endpoint_id, state, offset=(page - 1) * limit, limit=limit
    )
    attempts = repository.attempts_of(session, organization.id, [row.id for row in rows])
    return DeliveryPage(rows, attempts, total)


def attempts_of(session: Session, organization: Organization, delivery_id: str) -> list[Any]:
    return repository.attempts_of(session, organization.id, [delivery_id])[delivery_id]


def retry(
    session: Session, organization: Organization, endpoint_id: str, delivery_id: str
) -> WebhookDeliveryRow:
    """Send a delivery again now (a delivered one too: the receiver drops a repeat by its
    webhook-id)."""
    endpoint = get_endpoint(session, organization, endpoint_id)
    if not endpoint.enabled:
        raise EndpointDisabled(details={"id": endpoint_id})
    delivery = (
        repository.get_delivery(session, organization.id, endpoint_id, delivery_id)
        if _DELIVERY_ID.fullmatch(delivery_id)
        else None
    )
    if delivery is None:
        raise WebhookDeliveryNotFound(details={"id": delivery_id})
    now = utc_now()
    delivery.state = DeliveryState.PENDING.value
    delivery.next_attempt_at = now
    delivery.finished = None
    delivery.leased_until = None
    delivery.created = now  # a retry's window of retries starts again
    session.flush()
    return delivery


def resend(session: Session, organization: Organization, endpoint_id: str, since: datetime) -> int:
    """Queue every kept event since ``since`` that the endpoint wants, again, in order."""
    endpoint = get_endpoint(session, organization, endpoint_id, lock=True)
    if not endpoint.enabled:
        raise EndpointDisabled(details={"id": endpoint_id})
    now = utc_now()
    types = None if ALL_EVENTS in endpoint.event_types else list(endpoint.event_types)
    found = events.bodies_since(session, organization.id, since, types)
    # Events after the endpoint's position are queued by the dispatcher anyway.
    wanted = [event for event in found if event[0] <= endpoint.after_sequence]
    rows = [
        new_delivery(endpoint, sequence, event_id, kind, order_id, now, index)
        for index, (sequence, event_id, kind, order_id) in enumerate(wanted)
    ]
    repository.queue(session, rows)
    return len(rows)


async def send_test(url: str, secret: str) -> sender.Answer:
    """Send a signed ``webhook.test`` message now, outside the queue, and say what came back."""
    now = utc_now()
    message_id = "msg_test_" + random_token(16)
    body = dump_json(
        {"id": message_id, "type": "webhook.test", "occurred_at": now, "data": {}}
    ).decode()
    timeout = get_settings().webhook_timeout_seconds
    async with sender.new_session(1) as client:
        return await sender.send(client, url, secret, message_id, body, timeout)


def prune(session: Session, now: datetime, days: int) -> int:
    return repository.prune(session, now - timedelta(days=days))


def destination(session: Session, organization: Organization, endpoint_id: str) -> tuple[str, str]:
    """An endpoint's URL and its secret, opened (to send it a test)."""
    endpoint = get_endpoint(session, organization, endpoint_id)
    return endpoint.url, session_box(session).open(endpoint.secret)
