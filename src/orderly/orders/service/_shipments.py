"""Shipments: parcels of an order's lines with carrier and tracking, their tracking status,
and their cancellation. ``fulfillment_status`` (and ``shipped`` and ``delivered``) follow."""

from datetime import datetime
from types import SimpleNamespace
from typing import Any

from sqlalchemy.orm import Session

from orderly.audit import service as audit
from orderly.auth.models import Organization
from orderly.core.db import utc_now
from orderly.core.errors import ValidationFailed
from orderly.orders import carriers
from orderly.orders.models import ShipmentRow
from orderly.orders.repository import Kind
from orderly.orders.schemas import ShipmentCreate, ShipmentUpdate
from orderly.orders.service._common import SOURCE_API
from orderly.orders.service._records import (
    LockedOrder,
    actor,
    check_lines,
    lock_order,
    lock_order_of,
    new_record_id,
    record_change,
    refuse_final,
    search_columns,
    stored_lines,
    write,
)
from orderly.orders.statuses import SHIPMENT_NEXT, OrderStatus, ShipmentStatus


def create_shipment(
    session: Session,
    organization: Organization,
    order_id: str,
    data: ShipmentCreate,
    if_match: str | None = None,
    *,
    change_source: str = SOURCE_API,
    external_id: str | None = None,
    status: ShipmentStatus = ShipmentStatus.SHIPPED,
    by: str | None = None,
) -> str:
    """Ship units of an order's lines; returns the shipment's id. A quantity beyond what is
    still unshipped on its line is refused, however many requests race for it. A platform's
    fulfilment comes with its ``external_id``, its ``status`` and who (``by``) brought it."""
    locked = lock_order(session, organization, order_id, if_match)
    refuse_final(locked, "be shipped")
    if locked.row.status == OrderStatus.RETURNED:
        raise ValidationFailed(details={"status": "The order is returned: it cannot be shipped"})
    before = locked.progress()
    wanted = check_lines(locked, data.lines, before.unshipped, "to ship")
    now = utc_now()
    carrier = carriers.normalize(data.carrier)
    row = {
        "order_id": locked.row.id,
        "id": new_record_id(Kind.SHIPMENT, organization.id),
        "status": status.value,
        "carrier": carrier,
        "tracking_number": data.tracking_number,
        "tracking_url": data.tracking_url or carriers.tracking_url(carrier, data.tracking_number),
        "lines": stored_lines(wanted),
        "shipped_at": data.shipped_at or now,
        "delivered_at": now if status == ShipmentStatus.DELIVERED else None,
        "updated": now,
        "external_id": external_id,
        "created": now,
        "actor": by or actor(),
    }
    parcels = [*locked.records[Kind.SHIPMENT], SimpleNamespace(**row)]
    change = record_change(
        locked,
        locked.progress({Kind.SHIPMENT: parcels}),
        action=audit.SHIPMENT_CREATED,
        details={"shipment_id": row["id"], "lines": row["lines"], "carrier": carrier},
        history_source=change_source,
        inserts=[(ShipmentRow, row)],
        order_columns=search_columns(locked, parcels),
        actor=by,
    )
    write(session, organization, change, now)
    return str(row["id"])


def update_shipment(
    session: Session,
    organization: Organization,
    shipment_id: str,
    data: ShipmentUpdate,
    *,
    change_source: str = SOURCE_API,
) -> str:
    """Tracking status, carrier, number and times of a shipment; ``delivered`` for every
    parcel may move the order to delivered."""
    locked, shipment = lock_order_of(session, organization, Kind.SHIPMENT, shipment_id)
    values = data.model_dump(exclude_unset=True)
    if "status" in values:
        new = values["status"]
        if new == ShipmentStatus.CANCELLED:
            raise ValidationFailed(
                details={"status": "Cancel a shipment with POST /shipments/{id}/cancel"}
            )
        if new != shipment.status and new not in SHIPMENT_NEXT[shipment.status]:
            raise ValidationFailed(
                details={"status": f"A {shipment.status} shipment cannot become {new}"}
            )
        values["status"] = new.value
        if new == ShipmentStatus.DELIVERED and "delivered_at" not in values:
            values["delivered_at"] = shipment.delivered_at or utc_now()
    if values.get("carrier") is not None:
        values["carrier"] = carriers.normalize(values["carrier"])
    if "tracking_url" not in values and ("carrier" in values or "tracking_number" in values):
        carrier = values.get("carrier", shipment.carrier)
        number = values.get("tracking_number", shipment.tracking_number)
        if (url := carriers.tracking_url(carrier, number)) is not None:
            values["tracking_url"] = url
    return _change_shipment(
        session, organization, locked, shipment, values, audit.SHIPMENT_UPDATED, change_source
    )


def cancel_shipment(
    session: Session,
    organization: Organization,
    shipment_id: str,
    *,
    change_source: str = SOURCE_API,
) -> str:
    """A parcel that never left: its units count as unshipped again."""
    locked, shipment = lock_order_of(session, organization, Kind.SHIPMENT, shipment_id)
    if shipment.status == ShipmentStatus.CANCELLED:
        return str(shipment.id)
    if ShipmentStatus.CANCELLED not in SHIPMENT_NEXT[shipment.status]:
        raise ValidationFailed(
            details={"status": f"A {shipment.status} shipment cannot be cancelled"}
        )
    values = {"status": ShipmentStatus.CANCELLED.value}
    return _change_shipment(
        session, organization, locked, shipment, values, audit.SHIPMENT_CANCELLED, change_source
    )


def _change_shipment(
    session: Session,
    organization: Organization,
    locked: LockedOrder,
    shipment: Any,
    values: dict[str, Any],
    action: str,
    change_source: str,
) -> str:
    now = utc_now()
    values["updated"] = now
    changed = SimpleNamespace(**{**shipment._asdict(), **values})
    parcels = [changed if p.id == changed.id else p for p in locked.records[Kind.SHIPMENT]]
    shown = {k: v.isoformat() if isinstance(v, datetime) else v for k, v in values.items()}
    change = record_change(
        locked,
        locked.progress({Kind.SHIPMENT: parcels}),
        action=action,
        details={"shipment_id": changed.id, **{k: v for k, v in shown.items() if k != "updated"}},
        history_source=change_source,
        updates=[(ShipmentRow, changed.id, values)],
        order_columns=search_columns(locked, parcels),
    )
    write(session, organization, change, now)
    return str(changed.id)
