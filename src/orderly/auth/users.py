"""People and their browser sessions: the dashboard's sign-in.

Passwords are hashed with argon2id (``argon2-cffi``'s defaults); a sign-in is looked up by the
organization (its slug, as a store's address is on other platforms) and the e-mail, so that
every query leads with ``organization_id``. A session cookie reads
``ses_<organization key>_<secret>``; only its SHA-256 is stored, with the session's form token
(CSRF). Signing in always starts a new session (an id set before sign-in is never promoted),
and signing out deletes it.
"""

import hmac
import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cached_property

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerifyMismatchError
from email_validator import EmailNotValidError, validate_email
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from orderly.auth import repository
from orderly.auth.models import ApiToken, Organization, Role, UserRow, WebSession
from orderly.auth.service import hash_token
from orderly.core.config import get_settings
from orderly.core.db import utc_now
from orderly.core.errors import Conflict, NotFound, Unauthorized, ValidationFailed
from orderly.core.ids import new_keyed_id, organization_of, random_token
from orderly.core.ratelimit import Decision, Limiter, Rate, decide

SESSION_LIFETIME = timedelta(days=14)
# The dashboard's languages (``web/locales``); kept here so that auth needs nothing from web.
LANGUAGES = ("en", "ar")
_SESSION_PREFIX, _SESSION_SECRET_LENGTH = "ses", 40
_hasher = PasswordHasher()
# Verified against when the e-mail is unknown, so that the answer takes as long either way.
_UNKNOWN_USER_HASH = _hasher.hash(secrets.token_urlsafe(16))


_NO_STORE = "-"  # the throttle's key for sign-ins naming no known store


def _slug(store: str) -> str:
    return store.strip().lower()


@dataclass(frozen=True)
class SignedIn:
    user: UserRow
    organization: Organization
    csrf_token: str


def normalize_email(email: str) -> str:
    try:
        return validate_email(email.strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError as exc:
        raise ValidationFailed(details={"email": str(exc)}) from None


def new_password() -> str:
    return secrets.token_urlsafe(12)


def create_user(
    session: Session, organization: Organization, email: str, role: Role, password: str
) -> UserRow:
    if len(password) < 10:
        raise ValidationFailed(details={"password": "At least 10 characters"})
    address = normalize_email(email)
    exists = session.scalar(
        select(UserRow.id).where(
            UserRow.organization_id == organization.id, UserRow.email == address
        )
    )
    if exists is not None:
        raise Conflict("User already exists", {"email": address})
    user = UserRow(
        organization_id=organization.id,
        id=f"usr_{random_token(16)}",
        email=address,
        password_hash=_hasher.hash(password),
        role=role.value,
        created=utc_now(),
    )
    session.add(user)
    session.flush()
    return user


def sign_in(session: Session, slug: str, email: str, password: str) -> tuple[str, SignedIn]:
    """A new session for the person (its cookie value and who it is), or ``Unauthorized``."""
    refused = Unauthorized("Wrong store, e-mail or password")
    organization = repository.get_organization_by_slug(session, _slug(slug))
    user = None
    if organization is not None:
        user = session.scalars(
            select(UserRow).where(
                UserRow.organization_id == organization.id,
                UserRow.email == email.strip().lower(),
            )
        ).one_or_none()
    try:
        _hasher.verify(user.password_hash if user else _UNKNOWN_USER_HASH, password)
    except (VerifyMismatchError, InvalidHashError):
        raise refused from None
    if user is None or organization is None:
        raise refused
    cookie = new_keyed_id(_SESSION_PREFIX, organization.id, _SESSION_SECRET_LENGTH)
    now = utc_now()
    row = WebSession(
        organization_id=organization.id,
        token_hash=hash_token(cookie),
        user_id=user.id,
        csrf_token=secrets.token_urlsafe(32),
        created=now,
        expires=now + SESSION_LIFETIME,
    )
    session.add(row)
    session.flush()
    return cookie, SignedIn(user, organization, row.csrf_token)


def current(session: Session, cookie: str) -> SignedIn | None:
    """Who a session cookie belongs to, while the session lasts."""
    organization_id = organization_of(cookie, _SESSION_PREFIX, _SESSION_SECRET_LENGTH)
    if organization_id is None:
        return None
    # One query for the session, the person and the organization: every page asks it.
    found = session.execute(
        select(WebSession.csrf_token, UserRow, Organization)
        .join(
            UserRow,
            (UserRow.organization_id == WebSession.organization_id)
            & (UserRow.id == WebSession.user_id),
        )
        .join(Organization, Organization.id == WebSession.organization_id)
        .where(
            WebSession.organization_id == organization_id,
            WebSession.token_hash == hash_token(cookie),
            WebSession.expires > utc_now(),
        )
    ).one_or_none()
    if found is None:
        return None
    csrf_token, user, organization = found
    return SignedIn(user, organization, csrf_token)


def sign_out(session: Session, cookie: str) -> None:
    organization_id = organization_of(cookie, _SESSION_PREFIX, _SESSION_SECRET_LENGTH)
    if organization_id is not None:
        session.execute(
            delete(WebSession).where(
                WebSession.organization_id == organization_id,
                WebSession.token_hash == hash_token(cookie),
            )
        )


def csrf_matches(expected: str, sent: str | None) -> bool:
    return sent is not None and hmac.compare_digest(expected, sent)


def set_language(session: Session, user: UserRow, language: str | None) -> None:
    """The person's dashboard language (``None``: the browser's)."""
    if language is not None and language not in LANGUAGES:
        raise ValidationFailed(details={"language": f"One of {', '.join(LANGUAGES)}"})
    user.language = language
    session.flush()


def list_users(session: Session, organization: Organization) -> Sequence[UserRow]:
    return session.scalars(
        select(UserRow)
        .where(UserRow.organization_id == organization.id)
        .order_by(UserRow.created, UserRow.id)
    ).all()


def remove_user(session: Session, organization: Organization, user_id: str) -> None:
    """Remove a person and end their sessions; the last owner stays (someone must be able to
    manage the organization)."""
    user = session.get(UserRow, (organization.id, user_id))
    if user is None:
        raise NotFound("User not found", {"id": user_id})
    if user.role == Role.OWNER:
        owners = session.scalar(
            select(func.count())
            .select_from(UserRow)
            .where(UserRow.organization_id == organization.id, UserRow.role == Role.OWNER.value)
        )
        if owners == 1:
            raise Conflict("The last owner cannot be removed", {"id": user_id})
    session.execute(
        delete(WebSession).where(
            WebSession.organization_id == organization.id, WebSession.user_id == user_id
        )
    )
    session.delete(user)
    session.flush()


def prune_sessions(session: Session, now: datetime) -> int:
    """Delete sessions that have expired (they sign no one in any more), and the sign-in
    throttle's buckets that are full again; returns how many sessions."""
    repository.prune_sign_in_failures(session, now.timestamp())
    result = session.execute(delete(WebSession).where(WebSession.expires < now))
    return int(getattr(result, "rowcount", 0) or 0)


@dataclass
class SignInThrottle:
    """Wrong sign-ins at a store per client address (``ORDERLY_AUTH_FAILURE_LIMIT``); those
    naming no known store count together. The dashboard asks
    ``allowed()`` before it checks a password, so a throttled address gets 429 whatever it
    sends, the right password included, and ``failed()`` after a wrong one.

    With Redis the buckets are Redis's (``limiter``); without, they are kept in the database,
    in the sign-in's own transaction, so that every worker and node counts the same guesses.
    """

    session: Session
    store: str  # the slug the form names
    address: str
    limiter: Limiter | None  # None: the database's buckets

    @cached_property
    def organization_id(self) -> str:
        organization = repository.get_organization_by_slug(self.session, _slug(self.store))
        return organization.id if organization is not None else _NO_STORE

    @property
    def rate(self) -> Rate:
        return Rate.parse(get_settings().auth_failure_limit)

    async def allowed(self) -> Decision:
        return await self._apply(take=False)

    async def failed(self) -> Decision:
        """Count a wrong sign-in; the decision says whether the address is now throttled."""
        return await self._apply(take=True)

    async def _apply(self, *, take: bool) -> Decision:
        organization_id, address = self.organization_id, self.address[:64]
        if self.limiter is not None:
            key = f"sign-in-failures:{organization_id}:{address}"
            return await (self.limiter.hit if take else self.limiter.peek)(key, self.rate)
        now = time.time()  # every node's clock: the bucket is shared through the database
        tat = repository.sign_in_failures_locked(self.session, organization_id, address, now)
        decision, new_tat = decide(self.rate, now, tat, take=take)
        if take and decision.allowed:
            repository.set_sign_in_failures(self.session, organization_id, address, new_tat)
        return decision


def actor_names(
    session: Session, organization: Organization, actors: set[str]
) -> dict[str, tuple[str, str]]:
    """How the dashboard names who made a change: by actor as stored (``user:…``,
    ``token:…``, ``dashboard:<e-mail>``, ``api``, ``cli``, a platform's name), a kind to
    translate (``person``, ``token``, ``api``, ``cli``, ``platform``, ``reconciliation``: read
    from the platform's API by the poll, ``backfill``) and a name."""
    user_ids = {a.removeprefix("user:") for a in actors if a.startswith("user:")}
    token_ids = {a.removeprefix("token:") for a in actors if a.startswith("token:")}
    emails: dict[str, str] = {}
    if user_ids:
        query = select(UserRow.id, UserRow.email).where(
            UserRow.organization_id == organization.id, UserRow.id.in_(user_ids)
        )
        emails = {row.id: row.email for row in session.execute(query)}
    tokens: dict[str, str] = {}
    if token_ids:
        named_tokens = select(ApiToken.id, ApiToken.name).where(
            ApiToken.organization_id == organization.id, ApiToken.id.in_(token_ids)
        )
        tokens = {row.id: row.name for row in session.execute(named_tokens)}
    named: dict[str, tuple[str, str]] = {}
    for actor in actors:
        kind, _, rest = actor.partition(":")
        if kind == "user":
            named[actor] = ("person", emails.get(rest, rest))
        elif kind == "dashboard":
            named[actor] = ("person", rest)
        elif kind == "token":
            named[actor] = ("token", tokens.get(rest) or rest)
        elif actor in ("api", "bulk", "import", "cli", "reconciliation", "backfill"):
            named[actor] = (actor, "")
        else:  # a platform's name, or its connection
            named[actor] = ("platform", rest if kind == "connection" else actor)
    return named
