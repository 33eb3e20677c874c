"""A platform's own shipments (fulfilments with tracking) and refunds, taken with its order:
each is made once, by the platform's id, so a repeated delivery makes no second one; a
shipment the platform tracks further has its status moved. Made through the same services as
the API's, so the same rules, derived statuses, history and audit follow."""

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from functools import partial

from pydantic import ValidationError
from sqlalchemy.orm import Session

from orderly.auth.models import Organization
from orderly.core.errors import OrderlyError
from orderly.orders import repository
from orderly.orders.repository import Kind
from orderly.orders.schemas import RecordLine, RefundCreate, ShipmentCreate, ShipmentUpdate
from orderly.orders.service._records import lock_order
from orderly.orders.service._refunds import create_refund
from orderly.orders.service._shipments import (
    cancel_shipment,
    create_shipment,
    update_shipment,
)
from orderly.orders.statuses import SHIPMENT_NEXT, ShipmentStatus

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PlatformShipment:
    """``lines``: (line, units) by 1-based position; ``None``: the whole order (platforms
    whose shipments do not name lines)."""

    external_id: str
    status: ShipmentStatus
    lines: Sequence[tuple[int, int]] | None = None
    carrier: str | None = None
    tracking_number: str | None = None
    tracking_url: str | None = None
    shipped_at: datetime | None = None


@dataclass(frozen=True)
class PlatformRefund:
    external_id: str
    amount: Decimal
    lines: Sequence[tuple[int, int]] = ()
    reason: str | None = None
    note: str | None = None
    restock: bool = False


def take_platform_records(
    session: Session,
    organization: Organization,
    order_id: str,
    shipments: Sequence[PlatformShipment],
    refunds: Sequence[PlatformRefund],
    *,
    source: str,
    actor: str | None,
) -> None:
    """Make the platform's shipments and refunds the order does not have yet, and move the
    tracking of those it has. One that cannot be taken (a refund beyond what is left, say) is
    logged and left out; the order itself is still taken."""
    if shipments:
        _take_shipments(session, organization, order_id, shipments, source, actor)
    if refunds:
        known = repository.external_ids(session, organization.id, order_id, Kind.REFUND)
        for refund in refunds:
            if refund.external_id in known:
                continue
            make = partial(_take_refund, session, organization, order_id, refund, source, actor)
            _attempt("refund", refund.external_id, make)


def _take_refund(
    session: Session,
    organization: Organization,
    order_id: str,
    refund: PlatformRefund,
    source: str,
    actor: str | None,
) -> str:
    body = RefundCreate(
        amount=refund.amount,
        lines=_lines(refund.lines) or None,
        reason=refund.reason,
        note=refund.note,
        restock=refund.restock,
    )
    return create_refund(
        session,
        organization,
        order_id,
        body,
        change_source=source,
        external_id=refund.external_id,
        by=actor,
        as_sent=True,
    )


def _take_shipments(
    session: Session,
    organization: Organization,
    order_id: str,
    shipments: Sequence[PlatformShipment],
    source: str,
    actor: str | None,
) -> None:
    held = {
        row.external_id: row
        for row in repository.records_of(session, organization.id, [order_id], Kind.SHIPMENT)[
            order_id
        ]
        if row.external_id
    }
    for shipment in shipments:
        current = held.get(shipment.external_id)
        if current is not None:
            moved = shipment.status != current.status
            if moved and shipment.status in SHIPMENT_NEXT[current.status]:
                move = partial(_move, session, organization, current.id, shipment, source)
                _attempt("shipment", shipment.external_id, move)
            continue
        lines = shipment.lines
        if lines is None:  # the whole order: every unit not yet shipped
            progress = lock_order(session, organization, order_id, None).progress()
            lines = [(line, n) for line in progress.lines if (n := progress.unshipped(line)) > 0]
            if not lines:
                continue
        make = partial(
            _take_shipment, session, organization, order_id, shipment, lines, source, actor
        )
        _attempt("shipment", shipment.external_id, make)


def _take_shipment(
    session: Session,
    organization: Organization,
    order_id: str,
    shipment: PlatformShipment,
    lines: Sequence[tuple[int, int]],
    source: str,
    actor: str | None,
) -> str:
    body = ShipmentCreate(
        lines=_lines(lines),
        carrier=shipment.carrier,
        tracking_number=shipment.tracking_number,
        tracking_url=shipment.tracking_url,
        shipped_at=shipment.shipped_at,
    )
    return create_shipment(
        session,
        organization,
        order_id,
        body,
        change_source=source,
        external_id=shipment.external_id,
        status=shipment.status,
        by=actor,
    )


def _move(
    session: Session,
    organization: Organization,
    shipment_id: str,
    shipment: PlatformShipment,
    source: str,
) -> str:
    if shipment.status == ShipmentStatus.CANCELLED:
        return cancel_shipment(session, organization, shipment_id, change_source=source)
    return update_shipment(
        session,
        organization,
        shipment_id,
        ShipmentUpdate(status=shipment.status),
        change_source=source,
    )


def _attempt(kind: str, external_id: str, make: Callable[[], object]) -> None:
    try:
        make()
    except ValidationError as exc:  # its fields do not fit ours (a tracking URL, say)
        log.warning("A platform's %s %s was not taken: %s", kind, external_id, exc)
    except OrderlyError as exc:  # checked before anything is written: nothing half-made
        log.warning(
            "A platform's %s %s was not taken: %s %s", kind, external_id, exc.message, exc.details
        )


def _lines(lines: Sequence[tuple[int, int]]) -> list[RecordLine]:
    return [RecordLine(line=line, quantity=n) for line, n in lines]
