"""``CurrentOrg``: the organization the request's bearer token belongs to.

Also where requests are throttled: wrong tokens per client address (each costs a database
lookup, and guessing is what they are for) and, when ``ORDERLY_RATE_LIMIT`` is set, every
request per token. Limits are token buckets in ``core.ratelimit``.
"""

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from orderly.auth import service
from orderly.auth.models import Organization
from orderly.core.actor import current_actor
from orderly.core.config import get_settings
from orderly.core.db import Database, DatabaseDep, transaction
from orderly.core.errors import RateLimited, Unauthorized
from orderly.core.ratelimit import Limiter, Rate

_tokens = service.TokenCache()


def _look_up(database_url: str, bearer: str) -> service.Caller:
    # Outside the request's turn (``Database.turn``): one short read on the pool's overflow,
    # so that a request never waits for a second turn while holding its first.
    with transaction(database_url, write=False) as session:
        return service.authenticate(session, bearer)


# Declares bearer auth in /openapi.json (the Authorize button of /docs); a missing or other
# scheme is answered below with the envelope, not FastAPI's own 403.
_bearer = HTTPBearer(
    auto_error=False, bearerFormat="oly_…", description="A token from `orderly tokens create`."
)


async def caller_for(
    database: Database, limiter: Limiter, bearer: str, client: str
) -> service.Caller:
    """The organization of a bearer token, or ``Unauthorized``; ``RateLimited`` instead once
    the client address has sent too many wrong tokens. A valid token is never held up, even
    from an address that is throttled (a proxy or office shared with whoever sends them)."""
    if not bearer:
        raise Unauthorized(details={"authorization": "Send 'Authorization: Bearer <token>'"})
    try:
        return await _tokens.caller(
            bearer, lambda: run_in_threadpool(_look_up, database.url, bearer)
        )
    except Unauthorized:
        failures = Rate.parse(get_settings().auth_failure_limit)
        decision = await limiter.hit(f"auth-failures:{client}", failures)
        if not decision.allowed:
            raise RateLimited(
                decision.retry_after, {"authorization": "Too many wrong tokens; wait"}
            ) from None
        raise


def bearer_of(authorization: str | None) -> str:
    scheme, _, bearer = (authorization or "").partition(" ")
    return bearer.strip() if scheme.lower() == "bearer" else ""


async def current_organization(
    request: Request,
    database: DatabaseDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Organization:
    limiter: Limiter = request.app.state.limiter
    bearer = credentials.credentials.strip() if credentials else ""
    client = request.client.host if request.client else ""
    caller = await caller_for(database, limiter, bearer, client)
    organization = caller.organization
    request.state.organization_id = organization.id  # for the request's log line
    current_actor.set(f"token:{caller.token_id}")  # for the audit trail of its changes
    per_token = get_settings().rate_limit
    if per_token:
        decision = await limiter.hit(f"token:{service.hash_token(bearer)}", Rate.parse(per_token))
        request.state.response_headers = decision.headers()
        if not decision.allowed:
            raise RateLimited(decision.retry_after, {"authorization": "Over this token's limit"})
    return organization


CurrentOrg = Annotated[Organization, Depends(current_organization)]
