"""Connections, and the path of a webhook: stored in the inbox, verified, mapped, upserted.

A delivery is written to the inbox with its outcome, in the same transaction as the order it
made: the delivery and its effect are committed together or not at all. A savepoint around the
order's writes lets a delivery that fails be kept (with its error) without them, so a 2xx answer
always means the delivery is on record and can be replayed.
"""

import json
import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pydantic import ValidationError
from sqlalchemy.orm import Session

from orderly.auth.models import Organization
from orderly.core.config import get_settings
from orderly.core.crypto import SecretBox, session_box
from orderly.core.db import utc_now
from orderly.core.errors import (
    Conflict,
    NotFound,
    OrderlyError,
    RateLimited,
    validation_details,
)
from orderly.core.http import dump_json, parse_json
from orderly.core.ids import new_keyed_id, organization_of, random_token
from orderly.integrations import repository
from orderly.integrations.models import ConnectionRow, DeliveryRow, Outcome, Platform
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
    connection: ConnectionRow
    secret: str  # shown once


def webhook_url(connection: ConnectionRow, base_url: str) -> str:
    """Where the platform sends this connection's webhooks: under ``ORDERLY_PUBLIC_URL`` when
    it is set, else under ``base_url`` (the address the asker reached this service at, or ""
    for a path alone when that address is not one of ``ORDERLY_ALLOWED_HOSTS``)."""
    base = (get_settings().public_url or base_url).rstrip("/")
    return f"{base}/api/v1/webhooks/{connection.platform}/{connection.id}"


_CONNECTION_PREFIX, _CONNECTION_RANDOM_LENGTH = "con", 16
_DELIVERY_RANDOM_LENGTH = 20
UNVERIFIED_BODY_BYTES = 1024
_DELIVERY_ID = re.compile(rf"dlv_[a-z0-9]{{{_DELIVERY_RANDOM_LENGTH}}}")


def _organization_id(connection_id: str) -> str | None:
    # Webhooks carry no token: the connection id holds its organization's key.
    return organization_of(connection_id, _CONNECTION_PREFIX, _CONNECTION_RANDOM_LENGTH)


def create_connection(
    session: Session, organization: Organization, data: ConnectionCreate
) -> NewConnection:
    secret = data.secret or random_token(40)
    connection = ConnectionRow(
        organization_id=organization.id,
        id=new_keyed_id(_CONNECTION_PREFIX, organization.id, _CONNECTION_RANDOM_LENGTH),
        platform=data.platform.value,
        name=data.name or data.platform.value,
        secret=session_box(session).seal(secret),
        created=utc_now(),
    )
    session.add(connection)
    session.flush()
    return NewConnection(connection=connection, secret=secret)


def organization_of_connection(session: Session, connection_id: str) -> Organization | None:
    """The organization a connection id names, for the command line (which has no token)."""
    organization_id = _organization_id(connection_id)
    return session.get(Organization, organization_id) if organization_id else None


def list_connections(session: Session, organization: Organization) -> Sequence[ConnectionRow]:
    return repository.list_connections(session, organization.id)


def _is_own_connection_id(organization: Organization, connection_id: str) -> bool:
    # An id of another shape (a NUL, which PostgreSQL cannot even compare) names nothing.
    return _organization_id(connection_id) == organization.id


def get_connection(
    session: Session, organization: Organization, connection_id: str
) -> ConnectionRow:
    connection = (
        repository.get_connection(session, organization.id, connection_id)
        if _is_own_connection_id(organization, connection_id)
        else None
    )
    if connection is None:
        raise IntegrationNotFound(details={"id": connection_id})
    return connection


def delete_connection(session: Session, organization: Organization, connection_id: str) -> None:
    if not _is_own_connection_id(organization, connection_id) or not repository.delete_connection(
        session, organization.id, connection_id
    ):
        raise IntegrationNotFound(details={"id": connection_id})


# ---- receiving -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Incoming:
    """A webhook request as it arrived."""

    platform: str
    connection_id: str
    headers: Mapping[str, str]  # names in lower case
    body: bytes
    # Seconds until this connection's unverified deliveries are kept again (its bucket in
    # ``ORDERLY_UNVERIFIED_WEBHOOK_LIMIT`` is empty); 0: keep one that fails its signature.
    unverified_throttled_for: float = 0.0


Received = DeliveryRow | OrderlyError | None  # the stored delivery, why none was stored, or a ping


def _stored_headers(headers: Mapping[str, str]) -> dict[str, str]:
    return {
        name: value.partition(" ")[0] + " [redacted]" if name in _SECRET_HEADERS else value
        for name, value in headers.items()
    }


@dataclass
class _ToIngest:
    delivery: DeliveryRow
    organization: Organization
    request: orders.IngestRequest


def receive(session: Session, incoming: Sequence[Incoming]) -> list[Received]:
    """Store webhook requests in the inbox and process the verified ones, in order.

    Each answer is the stored delivery (check ``verified`` and ``outcome``), ``None`` for a
    platform's URL test (answered, not stored), or the error that kept one from being stored
    (an unknown connection). Orders new to an organization are inserted together.
    """
    results: list[Received] = []
    organization_ids = [_organization_id(r.connection_id) or "" for r in incoming]
    found = repository.find_connections_with_organizations(
        session,
        ((org, r.connection_id) for r, org in zip(incoming, organization_ids, strict=True) if org),
    )
    to_ingest: list[_ToIngest] = []
    box = session_box(session)
    for request, organization_id in zip(incoming, organization_ids, strict=True):
        target = found.get((organization_id, request.connection_id))
        if target is None or target[0].platform != request.platform:
            results.append(
                IntegrationNotFound(
                    details={"id": request.connection_id, "platform": request.platform}
                )
            )
            continue
        connection, organization = target
        handler = PLATFORMS[Platform(connection.platform)]
        if handler.is_ping(request.headers, request.body):
            results.append(None)
            continue
        delivery = _new_delivery(connection, request)
        results.append(delivery)
        try:
            handler.verify(request.headers, request.body, box.open(connection.secret))
        except Unverified as exc:
            if request.unverified_throttled_for:
                results[-1] = RateLimited(
                    request.unverified_throttled_for,
                    {"signature": f"{exc}; too many such deliveries to keep, none stored"},
                )
                continue
            # Anyone who knows the URL can send these: keep what identifies the attempt, not
            # what it carried.
            delivery.body = request.body[:UNVERIFIED_BODY_BYTES]
            kept = f"first {len(delivery.body):,} of {len(request.body):,} bytes of the body kept"
            delivery.error = f"{exc} ({kept})"
            continue
        delivery.verified = True
        if _is_duplicate(session, delivery):
            continue
        mapped = _map(delivery, connection)
        if mapped is not None:
            to_ingest.append(_ToIngest(delivery, organization, mapped))
    _ingest(session, to_ingest)
    stored = [r for r in results if isinstance(r, DeliveryRow)]
    session.add_all(stored)
    session.flush()
    return results


# What a listed order's outcome counts as in a sync run.
LISTED_OUTCOMES = {
    Outcome.CREATED: "created",
    Outcome.UPDATED: "updated",
    Outcome.UNCHANGED: "unchanged",
    Outcome.STALE: "unchanged",
    Outcome.DUPLICATE: "unchanged",
    Outcome.IGNORED: "failed",
    Outcome.FAILED: "failed",
}


def take_listed(
    session: Session,
    connection: ConnectionRow,
    organization: Organization,
    payloads: Sequence[Any],
    actor: str,
) -> list[str]:
    """Orders read from the platform's API (each as the body its webhook would carry, already
    parsed), taken like webhooks (mapped, upserted, stale ones left): each one's count in
    ``LISTED_OUTCOMES``. The inbox keeps only those that could not be taken, to inspect and
    replay; the others are in the orders' history as ``actor``'s."""
    deliveries = [
        DeliveryRow(
            organization_id=connection.organization_id,
            id=f"dlv_{random_token(_DELIVERY_RANDOM_LENGTH)}",
            connection_id=connection.id,
            received=utc_now(),
            headers={"x-orderly-source": actor.partition(":")[0]},
            body=b"",
            verified=True,
            outcome=Outcome.UNVERIFIED.value,
            attempts=0,
        )
        for _ in payloads
    ]
    to_ingest = []
    for delivery, payload in zip(deliveries, payloads, strict=True):
        mapped = _map(delivery, connection, actor, payload)
        if mapped is not None:
            to_ingest.append(_ToIngest(delivery, organization, mapped))
    _ingest(session, to_ingest)
    counted = [LISTED_OUTCOMES[Outcome(d.outcome)] for d in deliveries]
    kept = []
    for delivery, payload, count in zip(deliveries, payloads, counted, strict=True):
        if count == "failed":
            delivery.body = dump_json(payload)  # written out only for those kept
            kept.append(delivery)
    session.add_all(kept)
    session.flush()
    return counted


def max_body_bytes(platform: str) -> int:
    """The largest webhook body ``platform`` is taken with (its handler's, for an unknown
    platform the smallest)."""
    try:
        return PLATFORMS[Platform(platform)].max_body_bytes
    except ValueError:
        return min(handler.max_body_bytes for handler in PLATFORMS.values())


def _new_delivery(connection: ConnectionRow, request: Incoming) -> DeliveryRow:
    return DeliveryRow(
        organization_id=connection.organization_id,
        id=f"dlv_{random_token(_DELIVERY_RANDOM_LENGTH)}",
        connection_id=connection.id,
        received=utc_now(),
        event_id=_clip(
            PLATFORMS[Platform(connection.platform)].event_id(request.headers), DeliveryRow.event_id
        ),
        headers=_stored_headers(request.headers),
        body=request.body,
        verified=False,
        outcome=Outcome.UNVERIFIED.value,
        attempts=0,
    )


def _is_duplicate(session: Session, delivery: DeliveryRow) -> bool:
    """Whether the platform's event id names an event that already reached an order."""
    if not delivery.event_id:
        return False
    earlier = repository.find_processed_event(
        session, delivery.organization_id, delivery.connection_id, delivery.event_id
    )
    if earlier is None:
        return False
    delivery.outcome = Outcome.DUPLICATE.value
    delivery.order_id, delivery.external_id = earlier.order_id, earlier.external_id
    delivery.processed = delivery.received
    return True


def replay(
    session: Session, organization: Organization, connection_id: str, delivery_id: str
) -> DeliveryRow:
    """Process a stored delivery again, with the mapping as it is now."""
    connection = get_connection(session, organization, connection_id)
    delivery = get_delivery(session, organization, connection_id, delivery_id)
    if not delivery.verified:
        raise NotReplayable(details={"id": delivery_id, "outcome": delivery.outcome})
    mapped = _map(delivery, connection)
    if mapped is not None:
        _ingest(session, [_ToIngest(delivery, organization, mapped)])
    session.flush()
    return delivery


def _map(
    delivery: DeliveryRow,
    connection: ConnectionRow,
    actor: str | None = None,
    payload: Any = None,
) -> orders.IngestRequest | None:
    """Read the delivery's order (from ``payload`` when it is parsed already); ``None`` (and
    the outcome set) when there is none to take. ``actor`` names who brought it (default: the
    connection's webhook)."""
    handler = PLATFORMS[Platform(connection.platform)]
    delivery.attempts += 1
    delivery.error, delivery.processed = None, utc_now()
    try:
        if payload is None:
            payload = _parse_body(delivery.body)
        delivery.topic = _clip(handler.topic(delivery.headers, payload), DeliveryRow.topic)
        mapped = handler.to_order(payload, delivery.topic)
        if mapped is None:
            delivery.outcome = Outcome.IGNORED.value
            return None
        delivery.external_id = _clip(mapped.external_id, DeliveryRow.external_id)
        return _ingest_request(connection, mapped, actor)
    except (MappingFailed, ValidationError) as exc:
        _failed(delivery, exc)
    except Exception as exc:
        # A fault of ours (a mapping bug): keep the delivery so it can be replayed after the fix.
        log.exception("Mapping delivery %s failed", delivery.id)
        _failed(delivery, exc)
    return None


def _ingest(session: Session, items: Sequence[_ToIngest]) -> None:
    """Upsert the mapped orders, per organization; each delivery gets its outcome."""
    by_organization: dict[str, list[_ToIngest]] = {}
    for item in items:
        by_organization.setdefault(item.organization.id, []).append(item)
    for group in by_organization.values():
        organization = group[0].organization
        results: Sequence[orders.Ingested | Exception]
        try:
            with session.begin_nested():  # a failure undoes the orders' writes, not the deliveries
                results = orders.ingest_orders(session, organization, [i.request for i in group])
        except Exception:
            # Unexpected (a database error): each delivery alone, so one cannot sink the others.
            log.exception("Ingesting %d deliveries together failed; one by one", len(group))
            results = [_ingest_alone(session, organization, item) for item in group]
        for item, result in zip(group, results, strict=True):
            if isinstance(result, orders.Ingested):
                item.delivery.order_id, item.delivery.outcome = result.order_id, result.outcome
            else:
                _failed(item.delivery, result)


def _ingest_alone(
    session: Session, organization: Organization, item: _ToIngest
) -> orders.Ingested | Exception:
    try:
        with session.begin_nested():
            return orders.ingest_order(session, organization, item.request)
    except Exception as exc:
        log.exception("Ingesting delivery %s failed", item.delivery.id)
        return exc


def _failed(delivery: DeliveryRow, exc: Exception) -> None:
    delivery.outcome, delivery.error = Outcome.FAILED.value, _describe(exc)


def _clip(value: str | None, column: Any) -> str | None:
    """Platform-given text cut to its inbox column, so an oversized header cannot lose the
    delivery (the order's own fields are checked, and refused, by ``OrderImport``)."""
    return None if value is None else value[: column.type.length]


def _parse_body(body: bytes) -> Any:
    try:
        return parse_json(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise MappingFailed(f"The body is not JSON: {exc}") from None


def _ingest_request(
    connection: ConnectionRow, mapped: PlatformOrder, actor: str | None
) -> orders.IngestRequest:
    """``actor``: ``reconciliation:<id>`` or ``backfill:<id>`` for an order read from the
    platform's API (its history's source says which), else the connection's webhook."""
    platform = connection.platform
    statuses = {
        StatusField.STATUS: mapped.status,
        StatusField.PAYMENT_STATUS: mapped.payment_status,
        StatusField.FULFILLMENT_STATUS: mapped.fulfillment_status,
    }
    known = frozenset(field for field, value in statuses.items() if value is not None)
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
    return orders.IngestRequest(
        data=data,
        known=known,
        platform_updated=mapped.updated_at,
        phone_region=mapped.phone_region,
        actor=actor or f"connection:{connection.id}",
        history_source=actor.partition(":")[0] if actor else None,
        shipments=tuple(mapped.shipments),
        refunds=tuple(mapped.refunds),
    )


def _describe(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        details = validation_details(exc.errors())
        return "; ".join(f"{field}: {message}" for field, message in details.items())
    if isinstance(exc, OrderlyError):
        return orders.describe_error(exc)
    if isinstance(exc, MappingFailed):
        return str(exc)
    return f"Internal error: {type(exc).__name__}: {exc}"


# ---- the inbox ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class DeliveryPage:
    deliveries: Sequence[DeliveryRow]
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
) -> DeliveryRow:
    delivery = (
        repository.get_delivery(session, organization.id, connection_id, delivery_id)
        if _DELIVERY_ID.fullmatch(delivery_id)
        and _is_own_connection_id(organization, connection_id)
        else None
    )
    if delivery is None:
        raise DeliveryNotFound(details={"id": delivery_id})
    return delivery


def delivery_of_order(
    session: Session, organization: Organization, order_id: str
) -> DeliveryRow | None:
    """The latest webhook delivery that created or updated the order, if one did."""
    return repository.latest_delivery_of_order(session, organization.id, order_id)


# ---- maintenance ----------------------------------------------------------------------------


def reseal_secrets(session: Session, box: SecretBox) -> int:
    """Every connection's secret sealed again under the newest key; returns how many."""
    count = 0
    for organization_id in repository.organization_ids(session):
        for connection in repository.connections_of(session, organization_id):
            connection.secret = box.reseal(connection.secret)
            count += 1
    session.flush()
    return count


@dataclass(frozen=True)
class Pruned:
    processed: int
    unverified: int


def prune_inbox(session: Session, now: datetime) -> Pruned:
    """Forget deliveries older than the inbox's retention (``ORDERLY_INBOX_RETENTION_DAYS``,
    ``ORDERLY_UNVERIFIED_RETENTION_DAYS``); the orders they made stay."""
    settings = get_settings()
    processed = unverified = 0
    for organization_id in repository.organization_ids(session):
        processed += repository.delete_deliveries_before(
            session,
            organization_id,
            verified=True,
            before=now - timedelta(days=settings.inbox_retention_days),
        )
        unverified += repository.delete_deliveries_before(
            session,
            organization_id,
            verified=False,
            before=now - timedelta(days=settings.unverified_retention_days),
        )
    return Pruned(processed, unverified)
