"""Organizations and bearer tokens.

A token reads ``oly_<organization key>_<secret>``: the organization key lets the lookup lead with
``organization_id`` (as every query does), and only the token's SHA-256 is stored.
"""

import asyncio
import hashlib
import re
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from sqlalchemy.orm import Session

from orderly.auth import repository
from orderly.auth.models import ApiToken, Organization
from orderly.core.db import utc_now
from orderly.core.errors import NotFound, Unauthorized, ValidationFailed
from orderly.core.ids import new_keyed_id, new_organization_id, organization_of, random_token

_TOKEN_PREFIX, _TOKEN_SECRET_LENGTH = "oly", 40
_SLUG_SHAPE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


@dataclass(frozen=True)
class MintedToken:
    token: ApiToken
    secret: str  # the clear bearer token, shown once


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def get_or_create_organization(
    session: Session, slug: str, *, default_country: str = "SA"
) -> Organization:
    if not _SLUG_SHAPE.match(slug):
        raise ValidationFailed(
            details={"org": "Use 1-64 lowercase letters, digits, '-' or '_', starting alphanumeric"}
        )
    organization = repository.get_organization_by_slug(session, slug)
    if organization is None:
        organization = Organization(
            id=new_organization_id(),
            slug=slug,
            name=slug,
            default_country=default_country.upper(),
            created=utc_now(),
        )
        session.add(organization)
        session.flush()
    return organization


def require_organization(session: Session, slug: str) -> Organization:
    organization = repository.get_organization_by_slug(session, slug)
    if organization is None:
        raise NotFound("Organization not found", {"org": slug})
    return organization


def mint_token(session: Session, organization: Organization, name: str = "") -> MintedToken:
    secret = new_keyed_id(_TOKEN_PREFIX, organization.id, _TOKEN_SECRET_LENGTH)
    token = ApiToken(
        organization_id=organization.id,
        id=f"tok_{random_token(16)}",
        name=name,
        token_hash=hash_token(secret),
        created=utc_now(),
    )
    session.add(token)
    session.flush()
    return MintedToken(token=token, secret=secret)


def list_tokens(session: Session, organization: Organization) -> Sequence[ApiToken]:
    return repository.list_tokens(session, organization.id)


def revoke_token(
    session: Session, token_id: str, organization: Organization | None = None
) -> ApiToken:
    """Revoke a token (of ``organization`` only, when one is named)."""
    token = repository.find_token_by_id(
        session, token_id, organization.id if organization else None
    )
    if token is None:
        raise NotFound("Token not found", {"id": token_id})
    if token.revoked_at is None:
        token.revoked_at = utc_now()
        session.flush()
    return token


@dataclass(frozen=True)
class Caller:
    """Who sent a request: the organization and the id of the token it used."""

    organization: Organization
    token_id: str


def authenticate(session: Session, bearer: str) -> Caller:
    """Who a bearer token is (its organization and id), or ``Unauthorized``."""
    organization_id = organization_of(bearer, _TOKEN_PREFIX, _TOKEN_SECRET_LENGTH)
    if organization_id is None:
        raise Unauthorized(details={"authorization": "Unknown token"})
    # Looked up by its SHA-256: timing reveals nothing about the clear token.
    found = repository.find_organization_by_token(session, organization_id, hash_token(bearer))
    if found is None:
        raise Unauthorized(details={"authorization": "Unknown or revoked token"})
    return Caller(*found)


class TokenCache:
    """Tokens this process has checked lately, so that most requests cost no query at all.

    An entry is trusted for ``TTL_S`` only: a token revoked by any process (``tokens revoke``,
    another worker) is refused everywhere within that time, with no message passed between
    processes. Entries are keyed by the token's hash; a failed check is never cached. When an
    entry expires under load, one lookup refreshes it and the requests that arrive meanwhile
    wait for that one (without this, every request in flight looked the token up at once, each
    on its own connection). Used from the event loop only (``auth.deps``), so it needs no lock.
    """

    TTL_S = 0.5
    MAX_ENTRIES = 10_000

    def __init__(self) -> None:
        self._entries: dict[str, tuple[float, Caller]] = {}
        self._lookups: dict[str, asyncio.Task[Caller]] = {}

    async def caller(self, bearer: str, look_up: Callable[[], Awaitable[Caller]]) -> Caller:
        """Who the token is: from the cache while fresh, else from ``look_up()``
        (shared by every request that asks for the same token meanwhile)."""
        key = hash_token(bearer)
        entry = self._entries.get(key)
        if entry is not None and entry[0] > time.monotonic():
            return entry[1]
        lookup = self._lookups.get(key)
        if lookup is None:
            lookup = self._lookups[key] = asyncio.ensure_future(self._refresh(key, look_up))
        # Shielded: a request that goes away must not cancel the lookup others wait for.
        return await asyncio.shield(lookup)

    async def _refresh(self, key: str, look_up: Callable[[], Awaitable[Caller]]) -> Caller:
        try:
            organization = await look_up()
        finally:
            del self._lookups[key]
        self._put(key, organization)
        return organization

    def _put(self, key: str, organization: Caller) -> None:
        now = time.monotonic()
        if len(self._entries) >= self.MAX_ENTRIES:
            self._entries = {k: v for k, v in self._entries.items() if v[0] > now}
            if len(self._entries) >= self.MAX_ENTRIES:
                self._entries.clear()
        self._entries[key] = (now + self.TTL_S, organization)


def set_time_zone(session: Session, organization: Organization, zone: str | None) -> None:
    """The time zone the store's dashboard shows times in (``None``: its country's)."""
    held = session.merge(organization)  # the caller's object may belong to another session
    held.time_zone = organization.time_zone = zone
    session.flush()
