from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKeyConstraint, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from orderly.core.db import Base, UTCDateTime


class AuditEventRow(Base):
    """One change of one order. No foreign key to the order: deletions are kept too.

    Ids grow with time (``audit.service.new_event_id``), so the primary key lists an
    organization's events in order and each insert lands on the key's last page, where random
    ids would dirty a page anywhere in it on every write."""

    __tablename__ = "audit_events"
    __table_args__ = (
        ForeignKeyConstraint(["organization_id"], ["organizations.id"], ondelete="CASCADE"),
        Index(None, "organization_id", "order_id", "id"),
    )

    organization_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor: Mapped[str] = mapped_column(String(80))
    action: Mapped[str] = mapped_column(String(32))
    order_id: Mapped[str] = mapped_column(String(17))
    details: Mapped[dict[str, Any]] = mapped_column(JSON)
