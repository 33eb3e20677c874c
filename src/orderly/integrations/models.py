from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    ForeignKeyConstraint,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from orderly.core.db import Base, UTCDateTime


class Platform(StrEnum):
    SALLA = "salla"
    ZID = "zid"
    SHOPIFY = "shopify"
    WOOCOMMERCE = "woocommerce"
    HUNGERSTATION = "hungerstation"


class Outcome(StrEnum):
    """What became of a delivery."""

    UNVERIFIED = "unverified"  # its proof of origin failed: kept for inspection, never processed
    CREATED = "created"  # a new order
    UPDATED = "updated"  # the known order changed
    UNCHANGED = "unchanged"  # the known order already said the same (a re-delivery)
    STALE = "stale"  # older than what the order already holds: not applied
    DUPLICATE = "duplicate"  # the platform's event id was processed before
    IGNORED = "ignored"  # not about an order we keep (a deleted order, another topic)
    FAILED = "failed"  # could not be mapped; can be replayed after a fix


class ConnectionRow(Base):
    """One store of one platform sending webhooks into an organization."""

    __tablename__ = "integrations"
    __table_args__ = (
        ForeignKeyConstraint(["organization_id"], ["organizations.id"], ondelete="CASCADE"),
    )

    organization_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    id: Mapped[str] = mapped_column(String(48), primary_key=True)
    platform: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(255))
    # Encrypted (``core.crypto``): HMAC verification needs the key itself, so it cannot be a
    # hash; never returned after creation.
    secret: Mapped[str] = mapped_column(Text)
    created: Mapped[datetime] = mapped_column(UTCDateTime)


class DeliveryRow(Base):
    """The inbox: every webhook request as received, stored before it is processed."""

    __tablename__ = "deliveries"
    __table_args__ = (
        ForeignKeyConstraint(
            ["organization_id", "connection_id"],
            ["integrations.organization_id", "integrations.id"],
            ondelete="CASCADE",
        ),
        Index(None, "organization_id", "connection_id", "received", "id"),
        Index(None, "organization_id", "connection_id", "outcome", "received", "id"),
        Index(None, "organization_id", "connection_id", "event_id"),
        Index(None, "organization_id", "order_id", "received"),
    )

    organization_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    connection_id: Mapped[str] = mapped_column(String(48))
    received: Mapped[datetime] = mapped_column(UTCDateTime)
    topic: Mapped[str | None] = mapped_column(String(128))
    event_id: Mapped[str | None] = mapped_column(String(255))
    headers: Mapped[dict[str, Any]] = mapped_column(JSON)
    body: Mapped[bytes] = mapped_column(LargeBinary)
    verified: Mapped[bool] = mapped_column(Boolean)
    outcome: Mapped[str] = mapped_column(String(16))
    error: Mapped[str | None] = mapped_column(Text)
    external_id: Mapped[str | None] = mapped_column(String(255))
    order_id: Mapped[str | None] = mapped_column(String(17))
    attempts: Mapped[int] = mapped_column(Integer)
    processed: Mapped[datetime | None] = mapped_column(UTCDateTime)
