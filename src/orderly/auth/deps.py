"""``CurrentOrg``: the organization the request's bearer token belongs to."""

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from orderly.auth import service
from orderly.auth.models import Organization
from orderly.core.db import Database, DatabaseDep, transaction
from orderly.core.errors import Unauthorized

_tokens = service.TokenCache()


def _look_up(database_url: str, bearer: str) -> Organization:
    # Outside the request's turn (``Database.turn``): one short read on the pool's overflow,
    # so that a request never waits for a second turn while holding its first.
    with transaction(database_url, write=False) as session:
        return service.authenticate(session, bearer)


# Declares bearer auth in /openapi.json (the Authorize button of /docs); a missing or other
# scheme is answered below with the envelope, not FastAPI's own 403.
_bearer = HTTPBearer(
    auto_error=False, bearerFormat="oly_…", description="A token from `orderly tokens create`."
)


async def organization_for(database: Database, bearer: str) -> Organization:
    """The organization of a bearer token, or ``Unauthorized``."""
    if not bearer:
        raise Unauthorized(details={"authorization": "Send 'Authorization: Bearer <token>'"})
    return await _tokens.organization(
        bearer, lambda: run_in_threadpool(_look_up, database.url, bearer)
    )


async def organization_for_header(database: Database, authorization: str | None) -> Organization:
    """``organization_for`` the ``Authorization`` header's bearer token (for middleware, which
    runs before FastAPI's security dependency)."""
    scheme, _, bearer = (authorization or "").partition(" ")
    return await organization_for(database, bearer.strip() if scheme.lower() == "bearer" else "")


async def current_organization(
    request: Request,
    database: DatabaseDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Organization:
    organization = await organization_for(
        database, credentials.credentials.strip() if credentials else ""
    )
    request.state.organization_id = organization.id  # for the request's log line
    return organization


CurrentOrg = Annotated[Organization, Depends(current_organization)]
