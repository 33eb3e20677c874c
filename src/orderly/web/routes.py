"""Dashboard pages: sign-in and sign-out, and the orders list (tabs with live counts per
status, the list's own filters and search, keyset pages), in English or Arabic.

Pages are thin like the API's endpoints: they parse, call the same services (``orders.service``
with the same ``ListQuery``), and render a template. Every form carries a CSRF token: the
session's own once signed in, and before sign-in a random one in a cookie the form must match.
"""

import secrets
from typing import Annotated, Any
from urllib.parse import parse_qs, urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from orderly.auth import users
from orderly.auth.models import Role
from orderly.core.actor import current_actor
from orderly.core.config import get_settings
from orderly.core.db import SessionDep
from orderly.core.errors import Unauthorized
from orderly.core.ratelimit import Limiter, Rate
from orderly.orders import service as orders
from orderly.orders import statuses
from orderly.orders.filters import ListQuery
from orderly.orders.schemas import StatusUpdate
from orderly.orders.statuses import OrderStatus
from orderly.web import i18n
from orderly.web.pages import render

router = APIRouter(include_in_schema=False)

SESSION_COOKIE = "orderly_session"
SIGN_IN_CSRF_COOKIE = "orderly_csrf"
LANGUAGE_COOKIE = "orderly_lang"


def _language(request: Request, signed_in: users.SignedIn | None = None) -> str:
    return i18n.choose_language(
        request.cookies.get(LANGUAGE_COOKIE),
        signed_in.user.language if signed_in else None,
        request.headers.get("accept-language"),
    )


def _cookie_options(request: Request) -> dict[str, Any]:
    return {"httponly": True, "samesite": "lax", "secure": request.url.scheme == "https"}


async def _form(request: Request) -> dict[str, str]:
    fields = parse_qs((await request.body()).decode("utf-8", "replace"), keep_blank_values=True)
    return {name: values[0] for name, values in fields.items()}


def _signed_in(request: Request, session: SessionDep) -> users.SignedIn | None:
    cookie = request.cookies.get(SESSION_COOKIE)
    return users.current(session, cookie) if cookie else None


SignedInDep = Annotated[users.SignedIn | None, Depends(_signed_in)]


@router.get("/sign-in")
def sign_in_page(request: Request) -> Response:
    token = secrets.token_urlsafe(32)
    response = render(request, "sign_in.html", _language(request), csrf_token=token, error=None)
    response.set_cookie(SIGN_IN_CSRF_COOKIE, token, **_cookie_options(request))
    return response


@router.post("/sign-in")
async def sign_in(request: Request, session: SessionDep) -> Response:
    form = await _form(request)
    language = _language(request)
    if not users.csrf_matches(request.cookies.get(SIGN_IN_CSRF_COOKIE, ""), form.get("csrf")):
        return render(request, "forbidden.html", language, status_code=403)
    try:
        cookie, _ = users.sign_in(
            session, form.get("store", ""), form.get("email", ""), form.get("password", "")
        )
    except Unauthorized:
        # Guessing passwords is throttled per client address, as wrong API tokens are.
        limiter: Limiter = request.app.state.limiter
        client = request.client.host if request.client else ""
        rate = Rate.parse(get_settings().auth_failure_limit)
        throttled = not (await limiter.hit(f"sign-in-failures:{client}", rate)).allowed
        token = secrets.token_urlsafe(32)
        refused = render(
            request,
            "sign_in.html",
            language,
            csrf_token=token,
            error="throttled" if throttled else "wrong",
            status_code=429 if throttled else 401,
        )
        refused.set_cookie(SIGN_IN_CSRF_COOKIE, token, **_cookie_options(request))
        return refused
    # A new session id at every sign-in: an id planted before it is never promoted.
    response = RedirectResponse("/", status_code=303)
    response.set_cookie(SESSION_COOKIE, cookie, **_cookie_options(request))
    response.delete_cookie(SIGN_IN_CSRF_COOKIE)
    return response


@router.post("/sign-out")
async def sign_out(request: Request, session: SessionDep, who: SignedInDep) -> Response:
    form = await _form(request)
    if who is None or not users.csrf_matches(who.csrf_token, form.get("csrf")):
        return render(request, "forbidden.html", _language(request), status_code=403)
    users.sign_out(session, request.cookies.get(SESSION_COOKIE, ""))
    response = RedirectResponse("/sign-in", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response


@router.get("/language")
def switch_language(request: Request, to: str = "en", back: str = "/") -> Response:
    """Choose the dashboard's language (kept in a cookie)."""
    safe = back if back.startswith("/") and not back.startswith("//") else "/"
    response = RedirectResponse(safe, status_code=303)
    if to in i18n.LANGUAGES:
        response.set_cookie(LANGUAGE_COOKIE, to, samesite="lax", max_age=365 * 86400)
    return response


def _status_counts(session: Session, who: users.SignedIn) -> dict[str, int]:
    counts = {"": orders.list_orders(session, who.organization, ListQuery(limit=1)).total}
    for status in OrderStatus:
        query = ListQuery(status=status.value, limit=1)
        counts[status.value] = orders.list_orders(session, who.organization, query).total
    return counts


@router.get("/")
def orders_page(request: Request, session: SessionDep, who: SignedInDep) -> Response:
    """The orders list: every view is its URL (filters, search, sort, cursor)."""
    if who is None:
        return RedirectResponse("/sign-in", status_code=303)
    language = _language(request, who)
    params = dict(request.query_params)
    try:
        query = ListQuery.model_validate(params)
    except ValidationError:
        params, query = {}, ListQuery()
    page = orders.list_orders(session, who.organization, query)
    next_url = None
    if page.next is not None:
        next_url = "/?" + urlencode({**params, "cursor": page.next.encode(), "page": "1"})
    return render(
        request,
        "orders.html",
        language,
        who=who,
        orders=page.orders,
        total=page.total,
        counts=_status_counts(session, who),
        statuses=[s.value for s in OrderStatus],
        params=params,
        next_url=next_url,
        tab_url=lambda status: "/?" + urlencode({"status": status} if status else {}),
    )


def _may_change_orders(who: users.SignedIn) -> bool:
    return who.user.role in (Role.OWNER, Role.STAFF)


@router.get("/orders/{order_id}")
def order_page(request: Request, order_id: str, session: SessionDep, who: SignedInDep) -> Response:
    """One order: its content, its statuses with the moves allowed from them, its timeline."""
    if who is None:
        return RedirectResponse("/sign-in", status_code=303)
    language = _language(request, who)
    try:
        order = orders.get_document(session, who.organization, order_id)
    except orders.OrderNotFound:
        return render(request, "not_found.html", language, who=who, status_code=404)
    moves = {
        field.value: statuses.next_statuses(field, order[field.value])
        for field in statuses.StatusField
    }
    return render(
        request,
        "order.html",
        language,
        who=who,
        order=order,
        moves=moves if _may_change_orders(who) else {},
    )


@router.post("/orders/{order_id}/status")
async def change_order_status(
    request: Request, order_id: str, session: SessionDep, who: SignedInDep
) -> Response:
    """A status button: checked against the session's form token and the person's role."""
    form = await _form(request)
    language = _language(request, who)
    if who is None or not users.csrf_matches(who.csrf_token, form.get("csrf")):
        return render(request, "forbidden.html", language, status_code=403)
    if not _may_change_orders(who):
        return render(request, "forbidden.html", language, who=who, status_code=403)
    current_actor.set(f"user:{who.user.id}")
    try:
        change = StatusUpdate.model_validate({form.get("field", ""): form.get("to")})
        orders.change_status(
            session,
            who.organization,
            order_id,
            change,
            change_source=f"dashboard:{who.user.email}"[:64],
        )
    except (ValidationError, orders.InvalidTransition):
        return RedirectResponse(f"/orders/{order_id}?refused=1", status_code=303)
    except orders.OrderNotFound:
        return render(request, "not_found.html", language, who=who, status_code=404)
    return RedirectResponse(f"/orders/{order_id}", status_code=303)
