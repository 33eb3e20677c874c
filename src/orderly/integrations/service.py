"""Connections, and the path of a webhook: stored in the inbox, verified, mapped, upserted.

A delivery is written to the inbox with its outcome, in the same transaction as the order it
made: the delivery and its effect are committed together or not at all. A savepoint around the
order's writes lets a delivery that fails be kept (with its error) without them, so a 2xx answer
always means the delivery is on record and can be replayed.
"""

import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError
from sqlalchemy.orm import Session

from orderly.auth.models import Organization
from orderly.core.db import utc_now
from orderly.core.errors import Conflict, NotFound, OrderlyError, validation_details
from orderly.core.http import parse_json
from orderly.core.ids import random_token
from orderly.integrations import repository
from orderly.integrations.models import Connection, Delivery, Outcome, Platform
from orderly.integrations.platforms import PLATFORMS
from orderly.integrations.platforms.base import MappingFailed, PlatformOrder, Unverified
from orderly.integrations.schemas import ConnectionCreate, DeliveryQuery
from orderly.orders import service as orders
from orderly.orders.schemas import OrderImport
from orderly.orders.statuses import StatusField

log = logging.getLogger(__name__)

# Headers that carry the secret itself (Zid's Basic password, Salla's token, a JWT): the inbox
# keeps their scheme only.
_SECRET_HEADERS = {"authorization", "cookie"}


class IntegrationNotFound(NotFound):
    message = "Integration not found"


class DeliveryNotFound(NotFound):
    message = "Delivery not found"


class NotReplayable(Conflict):
    message = "Only verified deliveries can be replayed"


# ---- connections -------------------------------------------------------------------------------


@dataclass(frozen=True)
class NewConnection:
    connection: Connection
    secret: str  # shown once


def webhook_path(connection: Connection) -> str:
    return f"/api/v1/webhooks/{connection.platform}/{connection.id}"


def _organization_id(connection_id: str) -> str | None:
    """Connection ids carry their organization's key (``con_<org key>_<random>``), so the
    unauthenticated webhook lookup still leads with ``organization_id``."""
    prefix, _, rest = connection_id.partition("_")
    key, _, random_part = rest.partition("_")
    if prefix != "con" or len(key) != 12 or len(random_part) != 16:
        return None
    return f"org_{key}"


def create_connection(
    session: Session, organization: Organization, data: ConnectionCreate
) -> NewConnection:
    secret = data.secret or random_token(40)
    connection = Connection(
        organization_id=organization.id,
        id=f"con_{organization.id.removeprefix('org_')}_{random_token(16)}",
        platform=data.platform.value,
        name=data.name or data.platform.value,
        secret=secret,
        created=utc_now(),
    )
    session.add(connection)
    session.flush()
    return NewConnection(connection=connection, secret=secret)


def list_connections(session: Session, organization: Organization) -> Sequence[Connection]:
    return repository.list_connections(session, organization.id)


def get_connection(session: Session, organization: Organization, connection_id: str) -> Connection:
    connection = repository.get_connection(session, organization.id, connection_id)
    if connection is None:
        raise IntegrationNotFound(details={"id": connection_id})
    return connection


def delete_connection(session: Session, organization: Organization, connection_id: str) -> None:
    if not repository.delete_connection(session, organization.id, connection_id):
        raise IntegrationNotFound(details={"id": connection_id})


# ---- receiving -----------------------------------------------------------------------------------


def _stored_headers(headers: Mapping[str, str]) -> dict[str, str]:
    return {
        name: value.partition(" ")[0] + " [redacted]" if name in _SECRET_HEADERS else value
        for name, value in headers.items()
    }


def receive(
    session: Session, platform: str, connection_id: str, headers: Mapping[str, str], body: bytes
) -> Delivery | None:
    """Store a webhook request, verify it and, when verified, process it.

    Returns the stored delivery (check ``verified``), or ``None`` for a platform's URL test,
    which is answered and not stored.
    """
    organization_id = _organization_id(connection_id)
    found = (
        repository.find_connection_with_organization(session, organization_id, connection_id)
        if organization_id is not None
        else None
    )
    if found is None or found[0].platform != platform:
        raise IntegrationNotFound(details={"id": connection_id, "platform": platform})
    connection, organization = found
    handler = PLATFORMS[Platform(connection.platform)]
    if handler.is_ping(headers, body):
        return None

    delivery = Delivery(
        organization_id=organization.id,
        id=f"dlv_{random_token(20)}",
        connection_id=connection.id,
        received=utc_now(),
        event_id=_clip(handler.event_id(headers), Delivery.event_id),
        headers=_stored_headers(headers),
        body=body,
        verified=False,
        outcome=Outcome.UNVERIFIED.value,
        attempts=0,
    )
    try:
        handler.verify(headers, body, connection.secret)
    except Unverified as exc:
        delivery.error = str(exc)
        _store(session, delivery)
        return delivery
    delivery.verified = True

    earlier = (
        repository.find_processed_event(session, organization.id, connection.id, delivery.event_id)
        if delivery.event_id
        else None
    )
    if earlier is not None:
        delivery.outcome = Outcome.DUPLICATE.value
        delivery.order_id, delivery.external_id = earlier.order_id, earlier.external_id
        delivery.processed = delivery.received
        _store(session, delivery)
        return delivery
    _process(session, organization, connection, delivery)
    return delivery


def replay(
    session: Session, organization: Organization, connection_id: str, delivery_id: str
) -> Delivery:
    """Process a stored delivery again, with the mapping as it is now."""
    connection = get_connection(session, organization, connection_id)
    delivery = get_delivery(session, organization, connection_id, delivery_id)
    if not delivery.verified:
        raise NotReplayable(details={"id": delivery_id, "outcome": delivery.outcome})
    _process(session, organization, connection, delivery)
    return delivery


def _process(
    session: Session, organization: Organization, connection: Connection, delivery: Delivery
) -> None:
    handler = PLATFORMS[Platform(connection.platform)]
    delivery.attempts += 1
    delivery.error = None
    try:
        payload = _parse_body(delivery.body)
        delivery.topic = _clip(handler.topic(delivery.headers, payload), Delivery.topic)
        mapped = handler.to_order(payload, delivery.topic)
        if mapped is None:
            delivery.outcome = Outcome.IGNORED.value
        else:
            delivery.external_id = _clip(mapped.external_id, Delivery.external_id)
            with session.begin_nested():  # a failure undoes the order's writes, not the delivery
                result = _ingest(session, organization, connection.platform, mapped)
            delivery.order_id = result.order_id
            delivery.outcome = result.outcome.value
    except (MappingFailed, OrderlyError, ValidationError) as exc:
        delivery.outcome, delivery.error = Outcome.FAILED.value, _describe(exc)
    except Exception as exc:
        # A fault of ours (a mapping bug): keep the delivery so it can be replayed after the fix.
        log.exception("Processing delivery %s failed", delivery.id)
        delivery.outcome = Outcome.FAILED.value
        delivery.error = f"Internal error: {type(exc).__name__}: {exc}"
    delivery.processed = utc_now()
    _store(session, delivery)


def _store(session: Session, delivery: Delivery) -> None:
    session.add(delivery)
    session.flush()


def _clip(value: str | None, column: Any) -> str | None:
    """Platform-given text cut to its inbox column, so an oversized header cannot lose the
    delivery (the order's own fields are checked, and refused, by ``OrderImport``)."""
    return None if value is None else value[: column.type.length]


def _parse_body(body: bytes) -> Any:
    try:
        return parse_json(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise MappingFailed(f"The body is not JSON: {exc}") from None


def _ingest(
    session: Session, organization: Organization, platform: str, mapped: PlatformOrder
) -> orders.Ingested:
    statuses = {
        StatusField.STATUS: mapped.status,
        StatusField.PAYMENT_STATUS: mapped.payment_status,
        StatusField.FULFILLMENT_STATUS: mapped.fulfillment_status,
    }
    known = {status_field for status_field, value in statuses.items() if value is not None}
    meta = {key: value for key, value in mapped.meta.items() if value not in (None, "", [])}
    data = OrderImport.model_validate(
        {
            **{k: v for k, v in mapped.fields.items() if v is not None},
            **{f.value: statuses[f] for f in known},
            "source": platform,
            "external_id": mapped.external_id,
            "meta": meta,
        }
    )
    return orders.ingest_order(
        session,
        organization,
        data,
        known=known,
        platform_updated=mapped.updated_at,
        phone_region=mapped.phone_region,
    )


def _describe(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        details = validation_details(exc.errors())
        return "; ".join(f"{field}: {message}" for field, message in details.items())
    if isinstance(exc, OrderlyError):
        return orders.describe_error(exc)
    return str(exc)


# ---- the inbox ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class DeliveryPage:
    deliveries: Sequence[Delivery]
    total: int
    has_next: bool


def list_deliveries(
    session: Session, organization: Organization, connection_id: str, query: DeliveryQuery
) -> DeliveryPage:
    get_connection(session, organization, connection_id)
    deliveries, total = repository.list_deliveries(
        session,
        organization.id,
        connection_id,
        query.outcome,
        offset=(query.page - 1) * query.limit,
        limit=query.limit + 1,
    )
    return DeliveryPage(
        deliveries=deliveries[: query.limit], total=total, has_next=len(deliveries) > query.limit
    )


def get_delivery(
    session: Session, organization: Organization, connection_id: str, delivery_id: str
) -> Delivery:
    delivery = repository.get_delivery(session, organization.id, connection_id, delivery_id)
    if delivery is None:
        raise DeliveryNotFound(details={"id": delivery_id})
    return delivery
