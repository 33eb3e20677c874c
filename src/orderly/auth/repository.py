"""Queries for organizations and API tokens."""

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from orderly.auth.models import ApiToken, Organization


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
