"""Refunds and returns: money given back (never more than was paid, however many refunds
race), and lines sent back (never more than was delivered), received and optionally refunded
in the same step. ``payment_status`` (and ``fulfillment_status``, ``returned``) follow."""

from collections.abc import Mapping
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

from sqlalchemy.orm import Session

from orderly.audit import service as audit
from orderly.auth.models import Organization
from orderly.core import money
from orderly.core.db import utc_now
from orderly.core.errors import ValidationFailed
from orderly.orders.models import RefundRow, ReturnRow
from orderly.orders.plain import money_text
from orderly.orders.repository import Kind
from orderly.orders.schemas import RecordLine, RefundCreate, ReturnCreate, ReturnReceive
from orderly.orders.service._common import SOURCE_API
from orderly.orders.service._records import (
    LockedOrder,
    actor,
    check_lines,
    lock_order,
    lock_order_of,
    new_record_id,
    record_change,
    stored_lines,
    write,
)
from orderly.orders.statuses import PaymentStatus, ReturnStatus

_REFUNDABLE = {PaymentStatus.PAID, PaymentStatus.PARTIALLY_REFUNDED}


def create_refund(
    session: Session,
    organization: Organization,
    order_id: str,
    data: RefundCreate,
    if_match: str | None = None,
    *,
    change_source: str = SOURCE_API,
    external_id: str | None = None,
    by: str | None = None,
    as_sent: bool = False,
) -> str:
    """Give back money of a paid order; returns the refund's id. ``as_sent``: a platform's
    refund, taken whatever the payment status says (the platform made it already), still
    never beyond what is left."""
    locked = lock_order(session, organization, order_id, if_match)
    row = _refund_row(
        locked,
        organization,
        amount=data.amount,
        currency=data.currency,
        lines=data.lines or [],
        reason=data.reason,
        note=data.note,
        restock=data.restock,
        external_id=external_id,
        any_payment_status=as_sent,
        by=by,
    )
    now = row["created"]
    refunds = [*locked.records[Kind.REFUND], SimpleNamespace(**row)]
    change = record_change(
        locked,
        locked.progress({Kind.REFUND: refunds}),
        action=audit.REFUND_CREATED,
        details=_refund_details(row, locked.currency),
        history_source=change_source,
        inserts=[(RefundRow, _insertable(row))],
        order_columns={"refunded_amount": _refunded(refunds)},
        actor=by,
    )
    write(session, organization, change, now)
    return str(row["id"])


def _refund_row(
    locked: LockedOrder,
    organization: Organization,
    *,
    amount: Decimal | None,
    currency: str | None,
    lines: list[RecordLine],
    reason: str | None,
    note: str | None,
    restock: bool,
    external_id: str | None = None,
    return_id: str | None = None,
    checked_lines: Mapping[int, int] | None = None,
    any_payment_status: bool = False,
    by: str | None = None,
) -> dict[str, Any]:
    """A refund's row, checked against what is left: paid, the order's currency and places,
    no more than is left to refund, lines not refunded beyond their quantity."""
    order = locked.row
    if order.payment_status not in _REFUNDABLE and not any_payment_status:
        raise ValidationFailed(
            details={
                "payment_status": "Only a paid or partially refunded order can be refunded"
                f" (it is {order.payment_status})"
            }
        )
    if currency is not None and currency != locked.currency:
        raise ValidationFailed(details={"currency": f"The order is in {locked.currency}"})
    progress = locked.progress()
    wanted = (
        dict(checked_lines)
        if checked_lines is not None
        else check_lines(locked, lines, progress.refundable_units, "to refund")
    )
    places = money.currency_places(locked.currency)
    left = progress.refundable_amount
    if amount is None:
        if not wanted:
            raise ValidationFailed(details={"amount": "Send an amount, lines, or both"})
        amount = progress.amount_of(wanted, locked.currency)
    if not money.fits_currency(amount, locked.currency):
        raise ValidationFailed(
            details={"amount": f"At most {places} decimal places in {locked.currency}"}
        )
    if amount <= 0:
        raise ValidationFailed(details={"amount": "Must be more than 0"})
    if amount > left:
        shown = money_text(money.to_storage(left), places)
        raise ValidationFailed(
            details={"amount": f"At most {shown} {locked.currency} is left to refund"}
        )
    now = utc_now()
    return {
        "order_id": order.id,
        "id": new_record_id(Kind.REFUND, organization.id),
        "amount": money.to_storage(amount),
        "reason": reason,
        "note": note,
        "restock": restock,
        "lines": stored_lines(wanted),
        "return_id": return_id,
        "external_id": external_id,
        "created": now,
        "actor": by or actor(),
    }


def _refunded(refunds: list[Any]) -> Decimal:
    return money.from_storage(sum(r.amount for r in refunds))


def _refund_details(row: Mapping[str, Any], currency: str) -> dict[str, Any]:
    places = money.currency_places(currency)
    return {
        "refund_id": row["id"],
        "amount": money_text(row["amount"], places),
        "lines": row["lines"],
        "return_id": row["return_id"],
    }


def _insertable(row: dict[str, Any]) -> dict[str, Any]:
    """A refund row as the insert takes it (money as Decimal: the column type stores it)."""
    return {**row, "amount": money.from_storage(row["amount"])}


def request_return(
    session: Session,
    organization: Organization,
    order_id: str,
    data: ReturnCreate,
    if_match: str | None = None,
    *,
    change_source: str = SOURCE_API,
) -> str:
    """A customer sends lines back; returns the return's id. Only delivered units may be."""
    locked = lock_order(session, organization, order_id, if_match)
    progress = locked.progress()
    wanted = check_lines(locked, data.lines, progress.returnable, "to return (delivered)")
    now = utc_now()
    row = {
        "order_id": locked.row.id,
        "id": new_record_id(Kind.RETURN, organization.id),
        "status": ReturnStatus.REQUESTED.value,
        "lines": stored_lines(wanted),
        "reason": data.reason,
        "received_at": None,
        "refund_id": None,
        "created": now,
        "actor": actor(),
    }
    returns = [*locked.records[Kind.RETURN], SimpleNamespace(**row)]
    change = record_change(
        locked,
        locked.progress({Kind.RETURN: returns}),
        action=audit.RETURN_REQUESTED,
        details={"return_id": row["id"], "lines": row["lines"]},
        history_source=change_source,
        inserts=[(ReturnRow, row)],
    )
    write(session, organization, change, now)
    return str(row["id"])


def receive_return(
    session: Session,
    organization: Organization,
    return_id: str,
    data: ReturnReceive,
    *,
    change_source: str = SOURCE_API,
) -> str:
    """The returned lines arrived: they count as returned (all that was shipped come back
    moves the order to returned), and with ``refund`` their worth (or ``amount``) is
    refunded in the same step."""
    locked, comeback = lock_order_of(session, organization, Kind.RETURN, return_id)
    if comeback.status == ReturnStatus.RECEIVED:
        raise ValidationFailed(details={"status": "The return was received already"})
    now = utc_now()
    values: dict[str, Any] = {"status": ReturnStatus.RECEIVED.value, "received_at": now}
    inserts: list[tuple[Any, dict[str, Any]]] = []
    refunds = list(locked.records[Kind.REFUND])
    details: dict[str, Any] = {"return_id": comeback.id}
    if data.refund:
        wanted = {entry["line"]: entry["quantity"] for entry in comeback.lines}
        progress = locked.progress()
        over = [line for line, n in wanted.items() if n > progress.refundable_units(line)]
        refund = _refund_row(
            locked,
            organization,
            amount=data.amount,
            currency=None,
            lines=[],
            reason=comeback.reason,
            note=data.note,
            restock=data.restock,
            return_id=comeback.id,
            # Units refunded before (by amount or lines) are not refunded twice by line.
            checked_lines={line: n for line, n in wanted.items() if line not in over},
        )
        values["refund_id"] = refund["id"]
        inserts.append((RefundRow, _insertable(refund)))
        refunds.append(SimpleNamespace(**refund))
        details["refund"] = _refund_details(refund, locked.currency)
    received = SimpleNamespace(**{**comeback._asdict(), **values})
    returns = [received if r.id == comeback.id else r for r in locked.records[Kind.RETURN]]
    order_columns = {"refunded_amount": _refunded(refunds)} if data.refund else {}
    change = record_change(
        locked,
        locked.progress({Kind.RETURN: returns, Kind.REFUND: refunds}),
        action=audit.RETURN_RECEIVED,
        details=details,
        history_source=change_source,
        inserts=inserts,
        updates=[(ReturnRow, comeback.id, values)],
        order_columns=order_columns,
    )
    write(session, organization, change, now)
    return str(comeback.id)
