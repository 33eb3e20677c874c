from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Enum,
    ForeignKeyConstraint,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, declared_attr, mapped_column, relationship

from orderly.core.db import Base, Money, UTCDateTime
from orderly.orders.statuses import (
    FulfillmentStatus,
    OrderStatus,
    PaymentStatus,
    ReturnStatus,
    ShipmentStatus,
)


def _status_column(enum: type[Any], name: str) -> Enum:
    return Enum(
        enum,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=32,
        values_callable=lambda members: [m.value for m in members],
    )


JSONDocument = JSON().with_variant(JSONB(), "postgresql")


class OrderRow(Base):
    __tablename__ = "orders"
    __table_args__ = (
        ForeignKeyConstraint(["organization_id"], ["organizations.id"], ondelete="CASCADE"),
        UniqueConstraint("organization_id", "source", "external_id"),
        # One index per list filter and sort, each ending in id so ties break stably.
        Index(None, "organization_id", "created", "id"),
        Index(None, "organization_id", "updated", "id"),
        Index(None, "organization_id", "status", "created", "id"),
        Index(None, "organization_id", "payment_status", "created", "id"),
        Index(None, "organization_id", "source", "created", "id"),
        Index(None, "organization_id", "total_amount", "id"),
        Index(None, "organization_id", "customer_name", "id"),
    )

    organization_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    id: Mapped[str] = mapped_column(String(17), primary_key=True)
    source: Mapped[str] = mapped_column(String(64))
    external_id: Mapped[str | None] = mapped_column(String(255))
    external_number: Mapped[str | None] = mapped_column(String(255))
    customer_name: Mapped[str | None] = mapped_column(String(255))
    customer_email: Mapped[str | None] = mapped_column(String(320))
    customer_phone: Mapped[str | None] = mapped_column(String(64))
    subtotal: Mapped[Decimal] = mapped_column(Money)
    discount: Mapped[Decimal] = mapped_column(Money)
    tax: Mapped[Decimal] = mapped_column(Money)
    delivery_fee: Mapped[Decimal] = mapped_column(Money)
    total_amount: Mapped[Decimal] = mapped_column(Money)
    # The sum of the order's refunds, kept with each refund (the list and export show it).
    refunded_amount: Mapped[Decimal] = mapped_column(Money, server_default="0")
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[OrderStatus] = mapped_column(_status_column(OrderStatus, "order_status"))
    payment_status: Mapped[PaymentStatus] = mapped_column(
        _status_column(PaymentStatus, "payment_status")
    )
    fulfillment_status: Mapped[FulfillmentStatus] = mapped_column(
        _status_column(FulfillmentStatus, "fulfillment_status")
    )
    notes: Mapped[str | None] = mapped_column(Text)
    meta: Mapped[dict[str, Any]] = mapped_column(JSONDocument)
    # Folded customer name, e-mail, phone and external ids: what `search` matches against.
    search_text: Mapped[str] = mapped_column(Text)
    created: Mapped[datetime] = mapped_column(UTCDateTime)
    updated: Mapped[datetime] = mapped_column(UTCDateTime)
    # The source platform's own time of the state we hold: an older webhook event is not applied.
    source_updated: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Which kinds of records the order has (a bit per kind, ``repository.RECORD_BITS``), kept
    # by every record's write: reads and status changes of an order without any ask no more.
    record_kinds: Mapped[int] = mapped_column(SmallInteger, server_default="0")

    products: Mapped[list["LineItemRow"]] = relationship(
        order_by="LineItemRow.position", cascade="all, delete-orphan", lazy="raise"
    )
    status_history: Mapped[list["StatusChange"]] = relationship(
        order_by="StatusChange.seq", cascade="all, delete-orphan", lazy="raise"
    )


def _of_order() -> ForeignKeyConstraint:
    return ForeignKeyConstraint(
        ["organization_id", "order_id"],
        ["orders.organization_id", "orders.id"],
        ondelete="CASCADE",
    )


class _PartOfOrder:
    """Rows that belong to one order: keyed by organization and order, removed with it."""

    @declared_attr.directive
    @classmethod
    def __table_args__(cls) -> tuple[Any, ...]:
        return (_of_order(),)

    # sort_order: mixin columns would otherwise come last, and every key leads with the tenant.
    organization_id: Mapped[str] = mapped_column(String(32), primary_key=True, sort_order=-2)
    order_id: Mapped[str] = mapped_column(String(17), primary_key=True, sort_order=-1)


class LineItemRow(_PartOfOrder, Base):
    __tablename__ = "order_line_items"

    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    product_id: Mapped[str | None] = mapped_column(String(255))
    name: Mapped[str | None] = mapped_column(String(1024))
    quantity: Mapped[int] = mapped_column(Integer)
    price: Mapped[Decimal] = mapped_column(Money)
    total: Mapped[Decimal] = mapped_column(Money)
    # Kept with each shipment and return: in parcels not cancelled, and come back.
    fulfilled_quantity: Mapped[int] = mapped_column(Integer, server_default="0")
    returned_quantity: Mapped[int] = mapped_column(Integer, server_default="0")


class StatusChange(_PartOfOrder, Base):
    __tablename__ = "order_status_history"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    field: Mapped[str] = mapped_column(String(32))
    from_value: Mapped[str | None] = mapped_column(String(32))
    to_value: Mapped[str] = mapped_column(String(32))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    source: Mapped[str] = mapped_column(String(64))


class _RecordOfOrder(_PartOfOrder):
    """A shipment, refund, return or note: found by its own id (which carries the
    organization's key) as well as by its order."""

    @declared_attr.directive
    @classmethod
    def __table_args__(cls) -> tuple[Any, ...]:
        return (_of_order(), Index(None, "organization_id", "id", unique=True))

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    created: Mapped[datetime] = mapped_column(UTCDateTime)
    # Who made it: ``token:…``, ``user:…``, ``cli``, ``connection:…`` (as the audit trail).
    actor: Mapped[str] = mapped_column(String(80))


class ShipmentRow(_RecordOfOrder, Base):
    __tablename__ = "order_shipments"
    __table_args__ = (
        *_RecordOfOrder.__table_args__,
        Index(None, "organization_id", "order_id", "external_id", unique=True),
    )

    status: Mapped[ShipmentStatus] = mapped_column(
        _status_column(ShipmentStatus, "shipment_status")
    )
    carrier: Mapped[str | None] = mapped_column(String(64))
    tracking_number: Mapped[str | None] = mapped_column(String(255))
    tracking_url: Mapped[str | None] = mapped_column(String(2048))
    # [{"line": 1, "quantity": 2}, …]: 1-based positions in the order's products.
    lines: Mapped[list[dict[str, int]]] = mapped_column(JSON)
    shipped_at: Mapped[datetime] = mapped_column(UTCDateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated: Mapped[datetime] = mapped_column(UTCDateTime)
    # The platform's own id of a fulfilment it sent: a repeated delivery makes no second one.
    external_id: Mapped[str | None] = mapped_column(String(255))


class RefundRow(_RecordOfOrder, Base):
    __tablename__ = "order_refunds"
    __table_args__ = (
        *_RecordOfOrder.__table_args__,
        Index(None, "organization_id", "order_id", "external_id", unique=True),
    )

    amount: Mapped[Decimal] = mapped_column(Money)
    reason: Mapped[str | None] = mapped_column(String(255))
    note: Mapped[str | None] = mapped_column(Text)
    restock: Mapped[bool] = mapped_column(Boolean)
    lines: Mapped[list[dict[str, int]]] = mapped_column(JSON)
    return_id: Mapped[str | None] = mapped_column(String(40))
    external_id: Mapped[str | None] = mapped_column(String(255))


class ReturnRow(_RecordOfOrder, Base):
    __tablename__ = "order_returns"

    status: Mapped[ReturnStatus] = mapped_column(_status_column(ReturnStatus, "return_status"))
    lines: Mapped[list[dict[str, int]]] = mapped_column(JSON)
    reason: Mapped[str | None] = mapped_column(String(255))
    received_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    refund_id: Mapped[str | None] = mapped_column(String(40))


class NoteRow(_RecordOfOrder, Base):
    __tablename__ = "order_notes"

    text: Mapped[str] = mapped_column(Text)


class OrderCount(Base):
    """How many orders an organization has per status combination and source.

    Lets ``total_count`` of the common filters (none, statuses, source) be a sum of a few rows
    instead of a count over hundreds of thousands. On PostgreSQL each key is split over a few
    ``shard`` rows so that concurrent writers of one organization do not all wait on a single
    row lock; SQLite, one writer at a time, keeps one shard in a table clustered by the key.
    """

    __tablename__ = "order_counts"
    __table_args__ = (
        ForeignKeyConstraint(["organization_id"], ["organizations.id"], ondelete="CASCADE"),
        {"sqlite_with_rowid": False},
    )

    organization_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    status: Mapped[str] = mapped_column(String(32), primary_key=True)
    payment_status: Mapped[str] = mapped_column(String(32), primary_key=True)
    fulfillment_status: Mapped[str] = mapped_column(String(32), primary_key=True)
    source: Mapped[str] = mapped_column(String(64), primary_key=True)
    shard: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    n: Mapped[int] = mapped_column(BigInteger)
