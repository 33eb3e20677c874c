"""Queries for organizations and API tokens."""

from collections.abc import Sequence

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from orderly.auth.models import ApiToken, Organization, SignInFailures


def get_organization_by_slug(session: Session, slug: str) -> Organization | None:
    return session.scalars(select(Organization).where(Organization.slug == slug)).one_or_none()


def find_organization_by_token(
    session: Session, organization_id: str, token_hash: str
) -> tuple[Organization, str] | None:
    """The organization holding an active token with this hash, and the token's id (one
    query per request)."""
    query = (
        select(Organization, ApiToken.id)
        .join(ApiToken, ApiToken.organization_id == Organization.id)
        .where(
            ApiToken.organization_id == organization_id,
            ApiToken.token_hash == token_hash,
            ApiToken.revoked_at.is_(None),
        )
    )
    row = session.execute(query).first()
    return None if row is None else (row[0], row[1])


def list_tokens(session: Session, organization_id: str) -> Sequence[ApiToken]:
    query = (
        select(ApiToken)
        .where(ApiToken.organization_id == organization_id)
        .order_by(ApiToken.created, ApiToken.id)
    )
    return session.scalars(query).all()


def find_token_by_id(
    session: Session, token_id: str, organization_id: str | None = None
) -> ApiToken | None:
    # Token ids are globally unique; revoking by id alone is an operator's command (the CLI),
    # not a hot path. The dashboard names its organization.
    query = select(ApiToken).where(ApiToken.id == token_id)
    if organization_id is not None:
        query = select(ApiToken).where(
            ApiToken.organization_id == organization_id, ApiToken.id == token_id
        )
    return session.scalars(query).one_or_none()


def sign_in_failures_locked(
    session: Session, organization_id: str, address: str, now: float
) -> float:
    """The address's bucket at a store (``tat``), made when new and locked until the
    transaction ends, so that concurrent sign-ins from one address take their turns (SQLite:
    the write lock)."""
    dialect = session.get_bind().dialect.name
    insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    session.execute(
        insert(SignInFailures)
        .values(organization_id=organization_id, address=address, tat=now)
        .on_conflict_do_nothing()
    )
    query = (
        select(SignInFailures.tat)
        .where(SignInFailures.organization_id == organization_id, SignInFailures.address == address)
        .with_for_update()
    )
    return float(session.scalars(query).one())


def set_sign_in_failures(session: Session, organization_id: str, address: str, tat: float) -> None:
    session.execute(
        SignInFailures.__table__.update()  # type: ignore[attr-defined]
        .where(SignInFailures.organization_id == organization_id, SignInFailures.address == address)
        .values(tat=tat)
    )


def prune_sign_in_failures(session: Session, now: float) -> int:
    """Forget the buckets that are full again (their ``tat`` has passed)."""
    result = session.execute(delete(SignInFailures).where(SignInFailures.tat < now))
    return int(getattr(result, "rowcount", 0) or 0)
