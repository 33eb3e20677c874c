"""Reading an order's records (shipments, refunds, returns, timeline notes) as plain rows.

Written through ``_writes.write_records``, like every other write of an order."""

from collections.abc import Sequence
from enum import StrEnum
from functools import lru_cache
from typing import Any

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from orderly.core.db import Base
from orderly.core.direct import DirectQuery
from orderly.orders.models import NoteRow, RefundRow, ReturnRow, ShipmentRow
from orderly.orders.plain import raw
from orderly.orders.repository._queries import dialect_of, table


class Kind(StrEnum):
    SHIPMENT = "shipment"
    REFUND = "refund"
    RETURN = "return"
    NOTE = "note"


# ``orders.record_kinds``: a bit per kind the order has at least one record of.
RECORD_BITS = {Kind.SHIPMENT: 1, Kind.REFUND: 2, Kind.RETURN: 4, Kind.NOTE: 8}


def kinds_in(record_kinds: int) -> list[Kind]:
    """The kinds of records an order's ``record_kinds`` says it has."""
    return [kind for kind, bit in RECORD_BITS.items() if record_kinds & bit]


MODELS: dict[Kind, type[Base]] = {
    Kind.SHIPMENT: ShipmentRow,
    Kind.REFUND: RefundRow,
    Kind.RETURN: ReturnRow,
    Kind.NOTE: NoteRow,
}


@lru_cache(maxsize=16)
def _of_orders(dialect: str, kind: Kind) -> DirectQuery:
    chosen = table(MODELS[kind])
    return DirectQuery(
        select(*(raw(c, dialect) for c in chosen.columns))
        .where(
            chosen.c.organization_id == bindparam("organization_id"),
            chosen.c.order_id.in_(bindparam("ids", expanding=True)),
        )
        .order_by(chosen.c.order_id, chosen.c.created, chosen.c.id)
    )


def records_of(
    session: Session, organization_id: str, order_ids: Sequence[str], kind: Kind
) -> dict[str, list[Any]]:
    """The records of one kind of many orders as plain rows, by order id, oldest first."""
    parameters = {"organization_id": organization_id, "ids": list(order_ids)}
    found: dict[str, list[Any]] = {order_id: [] for order_id in order_ids}
    for row in _of_orders(dialect_of(session), kind).rows(session, parameters):
        found[row.order_id].append(row)
    return found


@lru_cache(maxsize=16)
def _by_id(dialect: str, kind: Kind) -> DirectQuery:
    chosen = table(MODELS[kind])
    return DirectQuery(
        select(*(raw(c, dialect) for c in chosen.columns)).where(
            chosen.c.organization_id == bindparam("organization_id"),
            chosen.c.id == bindparam("id"),
        )
    )


def record_row(session: Session, organization_id: str, kind: Kind, record_id: str) -> Any:
    """One record by its id as a plain row, or ``None``."""
    rows = _by_id(dialect_of(session), kind).rows(
        session, {"organization_id": organization_id, "id": record_id}
    )
    return rows[0] if rows else None


def order_of_record(
    session: Session, organization_id: str, kind: Kind, record_id: str
) -> str | None:
    """The id of the order a record belongs to."""
    chosen = table(MODELS[kind]).c
    query = select(chosen.order_id).where(
        chosen.organization_id == organization_id, chosen.id == record_id
    )
    return session.execute(query).scalar_one_or_none()


def external_ids(session: Session, organization_id: str, order_id: str, kind: Kind) -> set[str]:
    """The platform ids of an order's records of ``kind`` (those that came from a platform)."""
    chosen = table(MODELS[kind]).c
    query = select(chosen.external_id).where(
        chosen.organization_id == organization_id,
        chosen.order_id == order_id,
        func.coalesce(chosen.external_id, "") != "",
    )
    return set(session.scalars(query))
