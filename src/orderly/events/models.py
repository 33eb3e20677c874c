from datetime import datetime

from sqlalchemy import BigInteger, ForeignKeyConstraint, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from orderly.core.db import Base, UTCDateTime


class EventRow(Base):
    """One change of one order, as other systems are told of it. ``sequence`` numbers an
    organization's events in the order their transactions committed (``EventSequence``);
    ``body`` is the event's JSON exactly as the feed and webhooks send it."""

    __tablename__ = "events"
    __table_args__ = (
        ForeignKeyConstraint(["organization_id"], ["organizations.id"], ondelete="CASCADE"),
        # One index beside the key: every write adds a row here (an event's id is its audit
        # entry's, unique by that table's key; prune and resend scan by time, rarely).
        Index(None, "organization_id", "order_id", "sequence"),
    )

    organization_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    sequence: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    id: Mapped[str] = mapped_column(String(32))
    type: Mapped[str] = mapped_column(String(40))
    order_id: Mapped[str] = mapped_column(String(17))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    body: Mapped[str] = mapped_column(Text)


class EventSequence(Base):
    """The last sequence number an organization's events were given. Taken (its row locked)
    as the last step before a transaction commits, so numbers follow commit order."""

    __tablename__ = "event_sequences"
    __table_args__ = (
        ForeignKeyConstraint(["organization_id"], ["organizations.id"], ondelete="CASCADE"),
    )

    organization_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    last: Mapped[int] = mapped_column(BigInteger)
