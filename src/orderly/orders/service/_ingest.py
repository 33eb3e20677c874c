"""A platform's order (webhooks), created or brought up to date by its external id."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, cast

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from orderly.auth.models import Organization
from orderly.core.db import utc_now
from orderly.core.errors import (
    OrderlyError,
)
from orderly.orders import repository
from orderly.orders.models import LineItemRow
from orderly.orders.schemas import (
    OrderImport,
)
from orderly.orders.service import _intake
from orderly.orders.service._content import prepare_content
from orderly.orders.service._intake import NewOrder, insert, new_order
from orderly.orders.service._orders import (
    changed_columns,
    decided_statuses,
    history_changes,
    status_columns,
)
from orderly.orders.service._platform_records import (
    PlatformRefund,
    PlatformShipment,
    take_platform_records,
)
from orderly.orders.statuses import StatusField


class IngestOutcome(StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    STALE = "stale"


@dataclass(frozen=True)
class Ingested:
    order_id: str
    outcome: IngestOutcome


@dataclass(frozen=True)
class IngestRequest:
    """A platform's order: ``data`` as sent, which of its statuses the platform state tells
    (``known``), the platform's own time of that state, and the country its phone is from."""

    data: OrderImport
    known: frozenset[StatusField]
    platform_updated: datetime | None = None
    phone_region: str | None = None
    actor: str | None = None  # for the audit trail: the connection the order came through
    # What its history names as the change's source (default: the platform); the
    # reconciliation poll's changes say "reconciliation".
    history_source: str | None = None
    # The platform's own fulfilments and refunds of the order, where its payload has them.
    shipments: tuple[PlatformShipment, ...] = ()
    refunds: tuple[PlatformRefund, ...] = ()

    @property
    def key(self) -> tuple[str, str]:
        assert self.data.external_id is not None
        return self.data.source, self.data.external_id

    @property
    def external_key(self) -> tuple[str, str]:
        return self.key


def _new_ingested(organization: Organization, request: IngestRequest, now: datetime) -> NewOrder:
    """A platform's order new to the organization; its history is the platform's."""
    new = new_order(
        organization,
        request.data,
        request.history_source or request.data.source,
        now,
        phone_region=request.phone_region,
    )
    new.row["source_updated"] = request.platform_updated
    new.actor = request.actor
    return new


def _take_records(
    session: Session, organization: Organization, request: IngestRequest, order_id: str
) -> None:
    if request.shipments or request.refunds:
        take_platform_records(
            session,
            organization,
            order_id,
            request.shipments,
            request.refunds,
            source=request.data.source,
            actor=request.actor,
        )


def ingest_order(session: Session, organization: Organization, request: IngestRequest) -> Ingested:
    """Upsert an order as its platform sent it (``_upsert``), then its platform's shipments
    and refunds."""
    ingested = _upsert(session, organization, request)
    if ingested.outcome != IngestOutcome.STALE:
        _take_records(session, organization, request, ingested.order_id)
    return ingested


def _upsert(session: Session, organization: Organization, request: IngestRequest) -> Ingested:
    """Upsert by (organization, source, external id) an order as its platform sent it.

    Statuses in ``known`` are applied as the platform says (the transition rules bind the
    API, not the platform); the others keep their stored values. An event older than the
    state already held (by the platform's own time) changes nothing; one that says what the
    order already says changes nothing either, so re-deliveries leave no trace.
    """
    data, known = request.data, request.known
    platform_updated, phone_region = request.platform_updated, request.phone_region
    assert data.external_id is not None
    change_source = request.history_source or data.source
    order = repository.find_by_external_id(session, organization.id, data.source, data.external_id)
    if order is None:
        new = _new_ingested(organization, request, utc_now())
        try:
            with session.begin_nested():
                insert(session, [new])
            return Ingested(new.row["id"], IngestOutcome.CREATED)
        except IntegrityError:
            # A concurrent delivery created it first: bring that one up to date instead.
            order = repository.find_by_external_id(
                session, organization.id, data.source, data.external_id
            )
            if order is None:
                raise
    if platform_updated and order.source_updated and platform_updated < order.source_updated:
        return Ingested(order.id, IngestOutcome.STALE)

    now = utc_now()
    content = prepare_content(organization, data, ingested=True, phone_region=phone_region)
    columns = {**content.columns, "meta": {**order.meta, **content.columns["meta"]}}
    if data.created is not None:
        columns["created"] = data.created
    changed = changed_columns(order, columns)
    lines_changed = _line_values(order.products) != _line_values(content.line_items)
    # A status the order's shipments or refunds decide is theirs, not the platform's word.
    decided = decided_statuses(order.record_kinds)
    changes = [
        (status_field, str(current), str(new_value))
        for status_field in StatusField
        if status_field in known
        and status_field not in decided
        and (new_value := getattr(data, status_field.value))
        != (current := getattr(order, status_field.value))
    ]
    touched = bool(changed) or lines_changed or bool(changes)
    changed.update(status_columns(changes))
    if touched:
        changed["updated"] = now
    if platform_updated and (
        order.source_updated is None or platform_updated > order.source_updated
    ):
        changed["source_updated"] = platform_updated
    revision = repository.Revision(
        order_id=order.id,
        before=repository.count_key(order),
        columns=changed,
        status_changes=history_changes(changes),
        line_items=content.line_items if lines_changed else None,
        history_source=change_source,
        actor=request.actor,
    )
    repository.revise(session, organization.id, revision, at=now)
    outcome = IngestOutcome.UPDATED if touched else IngestOutcome.UNCHANGED
    return Ingested(order.id, outcome)


def ingest_orders(
    session: Session, organization: Organization, requests: Sequence[IngestRequest]
) -> list[Ingested | OrderlyError]:
    """``ingest_order`` for many at once, in order: orders new to the organization are
    inserted together (three statements for all), the others upserted one by one. A request
    that cannot be taken gets its error in its place; the others go on."""
    results: list[Ingested | OrderlyError | None] = [None] * len(requests)
    # Sorted by external id first: an order the organization has is brought up to date by
    # ``ingest_order`` (which may find the event stale), never made into a new order first.
    sorted_out = _intake.sort_out(session, organization.id, dict(enumerate(requests)))
    # Known orders, later events of an order new in this batch, and orders another writer took
    # meanwhile are brought up to date one by one, in the order they came.
    one_by_one = [*sorted_out.existing, *sorted_out.repeated]
    now = utc_now()
    fresh: dict[int, NewOrder] = {}
    for index, request in sorted_out.new.items():
        try:
            fresh[index] = _new_ingested(organization, request, now)
        except OrderlyError as exc:
            results[index] = exc
    for index in _intake.insert_together(session, fresh):
        del fresh[index]
        one_by_one.append(index)
    for index, new in fresh.items():
        results[index] = Ingested(new.row["id"], IngestOutcome.CREATED)
        _take_records(session, organization, requests[index], new.row["id"])
    for index in sorted(one_by_one):
        try:
            results[index] = ingest_order(session, organization, requests[index])
        except OrderlyError as exc:
            results[index] = exc
    assert all(result is not None for result in results)
    return cast(list[Ingested | OrderlyError], results)


def _line_values(items: Sequence[LineItemRow | dict[str, Any]]) -> list[tuple[Any, ...]]:
    names = ("product_id", "name", "quantity", "price", "total")
    return [
        tuple(item[n] if isinstance(item, dict) else getattr(item, n) for n in names)
        for item in items
    ]
