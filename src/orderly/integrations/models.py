from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
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
    # The platform's API, for the reconciliation poll and push back (``channels``): a JSON
    # object sealed like ``secret``; ``None`` until the owner sets it.
    credentials: Mapped[str | None] = mapped_column(Text, default=None)
    push_back: Mapped[bool] = mapped_column(Boolean, default=False)
    poll_interval_seconds: Mapped[int] = mapped_column(Integer, default=600)
    # Where the poll and the backfill stand (``channels.base.Walk`` as JSON).
    poll_state: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    backfill_state: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    next_poll: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    last_poll: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    # Which worker is walking the platform's orders now, and until when (a crashed one's
    # lease runs out and another takes over).
    lease_owner: Mapped[str | None] = mapped_column(String(32), default=None)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    # Why the platform refused the credentials (401/403); cleared by new credentials.
    attention: Mapped[str | None] = mapped_column(Text, default=None)
    # Push back reads the organization's events after this sequence.
    push_after: Mapped[int] = mapped_column(BigInteger, default=0)


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


class RunKind(StrEnum):
    POLL = "poll"  # the scheduled reconciliation
    SYNC = "sync"  # a reconciliation asked for now
    BACKFILL = "backfill"


class SyncRunRow(Base):
    """One walk through a platform's orders, with what it found."""

    __tablename__ = "sync_runs"
    __table_args__ = (
        ForeignKeyConstraint(
            ["organization_id", "connection_id"],
            ["integrations.organization_id", "integrations.id"],
            ondelete="CASCADE",
        ),
        Index(None, "organization_id", "connection_id", "started"),
    )

    organization_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    connection_id: Mapped[str] = mapped_column(String(48))
    kind: Mapped[str] = mapped_column(String(16))
    started: Mapped[datetime] = mapped_column(UTCDateTime)
    finished: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    requests: Mapped[int] = mapped_column(Integer, default=0)
    seen: Mapped[int] = mapped_column(Integer, default=0)
    created: Mapped[int] = mapped_column(Integer, default=0)
    updated: Mapped[int] = mapped_column(Integer, default=0)
    unchanged: Mapped[int] = mapped_column(Integer, default=0)
    failed: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text, default=None)


class PushState(StrEnum):
    PENDING = "pending"  # waiting for its (next) attempt
    SENT = "sent"  # the platform took it
    REFUSED = "refused"  # the platform answered 4xx: kept until retried by hand
    FAILED = "failed"  # no answer within ORDERLY_PUSH_RETRY_HOURS


class PushRow(Base):
    """A change of an order to tell its platform (the push-back outbox)."""

    __tablename__ = "platform_pushes"
    __table_args__ = (
        ForeignKeyConstraint(
            ["organization_id", "connection_id"],
            ["integrations.organization_id", "integrations.id"],
            ondelete="CASCADE",
        ),
        Index(None, "organization_id", "connection_id", "state", "next_attempt_at"),
        Index(None, "organization_id", "order_id"),
    )

    organization_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    connection_id: Mapped[str] = mapped_column(String(48))
    order_id: Mapped[str] = mapped_column(String(17))
    external_id: Mapped[str] = mapped_column(String(255))
    event_sequence: Mapped[int] = mapped_column(BigInteger)
    action: Mapped[str] = mapped_column(String(32))  # status, shipment, refund
    # What to tell (``channels.base.Change`` as JSON); the calls are made from it when sent.
    change: Mapped[dict[str, Any]] = mapped_column(JSON)
    # The last request made, as the platform's log would show it (method, path, body).
    last_request: Mapped[str | None] = mapped_column(Text, default=None)
    state: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created: Mapped[datetime] = mapped_column(UTCDateTime)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    last_status: Mapped[int | None] = mapped_column(Integer, default=None)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)
