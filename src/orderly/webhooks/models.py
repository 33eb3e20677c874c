from datetime import datetime
from enum import StrEnum

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    Text,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from orderly.core.db import Base, UTCDateTime


class DeliveryState(StrEnum):
    PENDING = "pending"  # waiting for its (next) attempt
    DELIVERED = "delivered"  # an attempt was answered 2xx
    FAILED = "failed"  # retried for the whole retry window, or its endpoint answered 410


class WebhookEndpointRow(Base):
    """A URL that wants an organization's events. ``after_sequence``: the events up to it
    have been queued for it (as deliveries)."""

    __tablename__ = "webhook_endpoints"
    __table_args__ = (
        ForeignKeyConstraint(["organization_id"], ["organizations.id"], ondelete="CASCADE"),
    )

    organization_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    id: Mapped[str] = mapped_column(String(48), primary_key=True)
    url: Mapped[str] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(String(255))
    event_types: Mapped[list[str]] = mapped_column(JSON)
    enabled: Mapped[bool] = mapped_column(Boolean)
    # Encrypted (``core.crypto``) as the platforms' secrets are; shown once, when made.
    secret: Mapped[str] = mapped_column(Text)
    created: Mapped[datetime] = mapped_column(UTCDateTime)
    updated: Mapped[datetime] = mapped_column(UTCDateTime)
    after_sequence: Mapped[int] = mapped_column(BigInteger)
    failing_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    disabled_reason: Mapped[str | None] = mapped_column(String(255))


class WebhookDeliveryRow(Base):
    """One event to send to one endpoint, until it is delivered (or given up)."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        ForeignKeyConstraint(
            ["organization_id", "endpoint_id"],
            ["webhook_endpoints.organization_id", "webhook_endpoints.id"],
            ondelete="CASCADE",
        ),
        # The pending deliveries, by order: an order's next one waits for its earlier ones (in
        # order per order), and the dispatcher finds what is due among them. (A second index
        # by due time misled PostgreSQL's planner into probing it for that wait, 4 ms a row.)
        Index(
            "ix_webhook_deliveries_in_order",
            "organization_id",
            "endpoint_id",
            "order_id",
            "event_sequence",
            postgresql_where=text("state = 'pending'"),
            sqlite_where=text("state = 'pending'"),
        ),
        Index(None, "organization_id", "endpoint_id", "id"),
    )

    organization_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    endpoint_id: Mapped[str] = mapped_column(String(48))
    event_sequence: Mapped[int] = mapped_column(BigInteger)
    event_id: Mapped[str] = mapped_column(String(32))
    event_type: Mapped[str] = mapped_column(String(40))
    order_id: Mapped[str] = mapped_column(String(17))
    state: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer)
    created: Mapped[datetime] = mapped_column(UTCDateTime)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # While an attempt is under way: a dispatcher that dies mid-attempt leaves the delivery
    # to be taken again once this has passed.
    leased_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_status: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)


class WebhookAttemptRow(Base):
    """One attempt to deliver: when, what the endpoint answered, or why it could not."""

    __tablename__ = "webhook_attempts"
    __table_args__ = (
        ForeignKeyConstraint(
            ["organization_id", "delivery_id"],
            ["webhook_deliveries.organization_id", "webhook_deliveries.id"],
            ondelete="CASCADE",
        ),
    )

    organization_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    delivery_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    number: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    status_code: Mapped[int | None] = mapped_column(Integer)
    duration_ms: Mapped[int] = mapped_column(Integer)
    response: Mapped[str | None] = mapped_column(Text)  # the answer's first 1 KiB
    error: Mapped[str | None] = mapped_column(Text)
