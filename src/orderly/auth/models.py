from datetime import datetime
from enum import StrEnum

from sqlalchemy import Float, ForeignKeyConstraint, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from orderly.core.db import Base, UTCDateTime, utc_now


class Organization(Base):
    """A merchant: the tenant every other row belongs to."""

    __tablename__ = "organizations"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(255))
    default_country: Mapped[str] = mapped_column(String(2), default="SA")
    # IANA name (Asia/Riyadh) the dashboard shows times in; None: the default country's.
    time_zone: Mapped[str | None] = mapped_column(String(64))
    created: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)


class ApiToken(Base):
    """A bearer token; only its SHA-256 is stored, the clear token is shown once."""

    __tablename__ = "api_tokens"
    __table_args__ = (
        ForeignKeyConstraint(["organization_id"], ["organizations.id"], ondelete="CASCADE"),
    )

    organization_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(255), default="")
    token_hash: Mapped[str] = mapped_column(String(64))
    created: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)


class Role(StrEnum):
    """What a person may do in the dashboard: owners everything (people, tokens,
    integrations), staff orders (create, edit, move, bulk, export), viewers read and export."""

    OWNER = "owner"
    STAFF = "staff"
    VIEWER = "viewer"


class UserRow(Base):
    """A person who signs in to the dashboard; only an argon2 hash of the password is kept."""

    __tablename__ = "users"
    __table_args__ = (
        ForeignKeyConstraint(["organization_id"], ["organizations.id"], ondelete="CASCADE"),
        UniqueConstraint("organization_id", "email"),
    )

    organization_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    email: Mapped[str] = mapped_column(String(320))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))
    language: Mapped[str | None] = mapped_column(String(8))
    created: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)


class WebSession(Base):
    """A signed-in browser: the cookie holds ``ses_<organization key>_<secret>``, the table only
    its SHA-256, with the form token (CSRF) that every form of the session must send back."""

    __tablename__ = "web_sessions"
    __table_args__ = (
        ForeignKeyConstraint(
            ["organization_id", "user_id"],
            ["users.organization_id", "users.id"],
            ondelete="CASCADE",
        ),
    )

    organization_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(32))
    csrf_token: Mapped[str] = mapped_column(String(64))
    created: Mapped[datetime] = mapped_column(UTCDateTime)
    expires: Mapped[datetime] = mapped_column(UTCDateTime)


class SignInFailures(Base):
    """Wrong sign-ins at a store per client address, as a token bucket (GCRA's one number,
    ``tat``: when the bucket would be full again), so that every worker and node counts the same
    guesses when there is no Redis. Sign-ins naming no known store share the key ``-``."""

    __tablename__ = "sign_in_failures"

    organization_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    address: Mapped[str] = mapped_column(String(64), primary_key=True)
    tat: Mapped[float] = mapped_column(Float)
