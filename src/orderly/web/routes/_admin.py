"""People and API tokens, for owners: invite someone (a generated password, shown once, to
hand over), remove them (their sessions end; the last owner stays), create a token (shown
once) and revoke one."""

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from orderly.auth import service as auth
from orderly.auth import users
from orderly.auth.models import Role
from orderly.core.db import SessionDep
from orderly.core.errors import OrderlyError
from orderly.web.deps import (
    OwnerForm,
    OwnerPage,
    language,
    not_found,
)
from orderly.web.pages import render

router = APIRouter()


def _people_page(
    request: Request,
    session: SessionDep,
    who: users.SignedIn,
    *,
    invited: tuple[str, str] | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    return render(
        request,
        "people.html",
        language(request, who),
        who=who,
        people=users.list_users(session, who.organization),
        roles=[role.value for role in Role],
        invited=invited,
        error=error,
        status_code=status_code,
    )


@router.get("/people")
def people_page(request: Request, session: SessionDep, who: OwnerPage) -> Response:
    """The organization's people and their roles."""
    return _people_page(request, session, who)


@router.post("/people")
async def invite(request: Request, session: SessionDep, posted: OwnerForm) -> Response:
    """Add a person with a role; their first password is shown once, to hand to them."""
    who, form = posted.who, posted.form
    password = users.new_password()
    try:
        role = Role(form.get("role"))
        user = users.create_user(session, who.organization, form.get("email"), role, password)
    except ValueError:
        return _people_page(request, session, who, error="role", status_code=422)
    except OrderlyError as exc:
        return _people_page(request, session, who, error=exc.message, status_code=422)
    return _people_page(request, session, who, invited=(user.email, password))


@router.post("/people/{user_id}/remove")
async def remove(
    request: Request, user_id: str, session: SessionDep, posted: OwnerForm
) -> Response:
    who = posted.who
    try:
        users.remove_user(session, who.organization, user_id)
    except OrderlyError as exc:
        return _people_page(request, session, who, error=exc.message, status_code=409)
    return RedirectResponse("/people", status_code=303)


def _tokens_page(
    request: Request, session: SessionDep, who: users.SignedIn, minted: str | None = None
) -> Response:
    return render(
        request,
        "tokens.html",
        language(request, who),
        who=who,
        tokens=auth.list_tokens(session, who.organization),
        minted=minted,
    )


@router.get("/tokens")
def tokens_page(request: Request, session: SessionDep, who: OwnerPage) -> Response:
    """The organization's API tokens (their secrets are never shown again)."""
    return _tokens_page(request, session, who)


@router.post("/tokens")
async def create_token(request: Request, session: SessionDep, posted: OwnerForm) -> Response:
    who, form = posted.who, posted.form
    minted = auth.mint_token(session, who.organization, form.get("name").strip()[:255])
    return _tokens_page(request, session, who, minted=minted.secret)


@router.post("/tokens/{token_id}/revoke")
async def revoke(
    request: Request, token_id: str, session: SessionDep, posted: OwnerForm
) -> Response:
    who = posted.who
    try:
        auth.revoke_token(session, token_id, who.organization)
    except OrderlyError:
        raise not_found(request, who) from None
    return RedirectResponse("/tokens", status_code=303)
