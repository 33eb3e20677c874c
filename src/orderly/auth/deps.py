"""``CurrentOrg``: the organization the request's bearer token belongs to."""

from typing import Annotated

from fastapi import Depends, Request

from orderly.auth import service
from orderly.auth.models import Organization
from orderly.core.db import SessionDep
from orderly.core.errors import Unauthorized


def current_organization(request: Request, session: SessionDep) -> Organization:
    scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not credentials.strip():
        raise Unauthorized(details={"authorization": "Send 'Authorization: Bearer <token>'"})
    return service.authenticate(session, credentials.strip())


CurrentOrg = Annotated[Organization, Depends(current_organization)]
