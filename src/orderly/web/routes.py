"""Dashboard pages: sign-in and sign-out, and the orders list (tabs with live counts per
status, the list's own filters and search, keyset pages), in English or Arabic.

Pages are thin like the API's endpoints: they parse, call the same services (``orders.service``
with the same ``ListQuery``), and render a template. Every form carries a CSRF token: the
session's own once signed in, and before sign-in a random one in a cookie the form must match.
"""

import secrets
from decimal import Decimal
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
from orderly.core.errors import OrderlyError, Unauthorized, validation_details
from orderly.core.ratelimit import Limiter, Rate
from orderly.export.routes import stream_export
from orderly.export.schemas import ExportQuery
from orderly.orders import service as orders
from orderly.orders import statuses
from orderly.orders.filters import ListQuery
from orderly.orders.schemas import OrderCreate, StatusUpdate
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


def _view_filters(params: dict[str, str]) -> dict[str, str]:
    """The view's filters and sort, without its page (an export takes every matching order)."""
    return {k: v for k, v in params.items() if k not in ("page", "limit", "cursor")}


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
        export_url=lambda format: (
            "/export?" + urlencode({**_view_filters(params), "format": format})
        ),
    )


def _may_change_orders(who: users.SignedIn) -> bool:
    return who.user.role in (Role.OWNER, Role.STAFF)


def _refuse_order_write(
    request: Request, language: str, who: users.SignedIn | None, form: dict[str, str]
) -> Response | None:
    """The 403 page for a form that changes orders without the session's CSRF token or the
    role to do it; ``None`` (and the audit trail's actor set) when it may go ahead."""
    if who is None or not users.csrf_matches(who.csrf_token, form.get("csrf")):
        return render(request, "forbidden.html", language, status_code=403)
    if not _may_change_orders(who):
        return render(request, "forbidden.html", language, who=who, status_code=403)
    current_actor.set(f"user:{who.user.id}")
    return None


_LINE_FIELDS = ("name", "quantity", "price")


def _entered_order(form: dict[str, str]) -> dict[str, Any]:
    """The order a phone-order form describes, as an ``OrderCreate`` body: lines that were left
    empty are dropped, amounts are read exactly, and the total is what the form showed."""
    lines = []
    index = 0
    while f"lines-{index}-name" in form:
        line = {field: form.get(f"lines-{index}-{field}", "").strip() for field in _LINE_FIELDS}
        index += 1
        if any(line.values()):
            lines.append(line)
    body: dict[str, Any] = {
        "source": "manual",
        "currency": form.get("currency", "SAR"),
        "customer_name": form.get("customer_name") or None,
        "customer_phone": form.get("customer_phone") or None,
        "customer_email": form.get("customer_email") or None,
        "notes": form.get("notes") or None,
        "products": [
            {
                "name": line["name"] or None,
                "quantity": _number(line["quantity"]),
                "price": _number(line["price"]),
            }
            for line in lines
        ],
    }
    for field in ("delivery_fee", "discount", "tax"):
        body[field] = _number(form.get(field, "") or "0")
    body["total_amount"] = _form_total(body)
    return body


def _number(text: str) -> Any:
    """A form's number as the API reads JSON numbers (whole, or an exact decimal); anything
    else is passed on as text for the schema to refuse with its own message."""
    try:
        return int(text) if text.strip().lstrip("-").isdigit() else Decimal(text.strip())
    except ArithmeticError:
        return text


def _form_total(body: dict[str, Any]) -> Any:
    try:
        subtotal = sum(
            (Decimal(p["quantity"]) * Decimal(p["price"]) for p in body["products"]), Decimal(0)
        )
        return (
            subtotal
            + Decimal(body["tax"])
            + Decimal(body["delivery_fee"])
            - Decimal(body["discount"])
        )
    except (ArithmeticError, TypeError, ValueError):
        return Decimal(0)


def _new_order_page(
    request: Request, who: users.SignedIn, form: dict[str, str], errors: dict[str, str], status: int
) -> Response:
    rows = max(3, sum(1 for name in form if name.endswith("-name")))
    return render(
        request,
        "new_order.html",
        _language(request, who),
        who=who,
        form=form,
        errors=errors,
        rows=rows,
        fields=_LINE_FIELDS,
        status_code=status,
    )


@router.get("/orders/new")
def new_order_page(request: Request, who: SignedInDep) -> Response:
    """Manual entry of a phone order."""
    if who is None:
        return RedirectResponse("/sign-in", status_code=303)
    if not _may_change_orders(who):
        return render(request, "forbidden.html", _language(request, who), who=who, status_code=403)
    return _new_order_page(request, who, {"currency": "SAR"}, {}, 200)


@router.post("/orders/new")
async def create_entered_order(request: Request, session: SessionDep, who: SignedInDep) -> Response:
    form = await _form(request)
    language = _language(request, who)
    refused = _refuse_order_write(request, language, who, form)
    if refused is not None:
        return refused
    assert who is not None  # refused above otherwise
    try:
        body = OrderCreate.model_validate(_entered_order(form))
        order_id = orders.create_order(
            session, who.organization, body, change_source=f"dashboard:{who.user.email}"[:64]
        )
    except ValidationError as exc:
        return _new_order_page(request, who, form, validation_details(exc.errors()), 422)
    except OrderlyError as exc:
        errors = {key: str(value) for key, value in exc.details.items()} or {"body": exc.message}
        return _new_order_page(request, who, form, errors, 422)
    return RedirectResponse(f"/orders/{order_id}", status_code=303)


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
    refused = _refuse_order_write(request, language, who, form)
    if refused is not None:
        return refused
    assert who is not None  # refused above otherwise
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


@router.get("/export")
def export_view(request: Request, who: SignedInDep) -> Response:
    """The current view (its filters and sort) as a file, for every role."""
    if who is None:
        return RedirectResponse("/sign-in", status_code=303)
    try:
        query = ExportQuery.model_validate(dict(request.query_params))
    except ValidationError:
        return render(request, "forbidden.html", _language(request, who), who=who, status_code=422)
    return stream_export(request, who.organization, query)
