"""Sign-in (throttled per address), sign-out, and the language: chosen by the switch (a
cookie), the person's setting, or the browser's."""

import math
import secrets

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from orderly.auth import service as auth
from orderly.auth import users
from orderly.core.db import SessionDep
from orderly.core.errors import Unauthorized
from orderly.core.ratelimit import Limiter, RedisLimiter
from orderly.web import i18n
from orderly.web.deps import (
    LANGUAGE_COOKIE,
    OWNERS,
    SESSION_COOKIE,
    SIGN_IN_CSRF_COOKIE,
    AnyoneForm,
    AnyonePage,
    cookie_options,
    forbidden,
    language,
    local_path,
    may,
    read_form,
)
from orderly.web.pages import render

router = APIRouter()


@router.get("/sign-in")
def sign_in_page(request: Request) -> Response:
    token = secrets.token_urlsafe(32)
    response = render(request, "sign_in.html", language(request), csrf_token=token, error=None)
    response.set_cookie(SIGN_IN_CSRF_COOKIE, token, **cookie_options(request))
    return response


@router.post("/sign-in")
async def sign_in(request: Request, session: SessionDep) -> Response:
    form = await read_form(request)
    chosen = language(request)
    if not users.csrf_matches(request.cookies.get(SIGN_IN_CSRF_COOKIE, ""), form.get("csrf")):
        raise forbidden(request, None)
    limiter: Limiter = request.app.state.limiter
    throttle = users.SignInThrottle(
        session,
        form.get("store"),
        request.client.host if request.client else "",
        limiter if isinstance(limiter, RedisLimiter) else None,
    )
    # Asked first: a throttled address gets 429 whatever it sends, the right password included.
    decision = await throttle.allowed()
    throttled = not decision.allowed
    try:
        if throttled:
            raise Unauthorized
        cookie, _ = users.sign_in(
            session, form.get("store"), form.get("email"), form.get("password")
        )
    except Unauthorized:
        if not throttled:
            decision = await throttle.failed()
            throttled = not decision.allowed
        token = secrets.token_urlsafe(32)
        refused = render(
            request,
            "sign_in.html",
            chosen,
            csrf_token=token,
            error="throttled" if throttled else "wrong",
            status_code=429 if throttled else 401,
        )
        refused.set_cookie(SIGN_IN_CSRF_COOKIE, token, **cookie_options(request))
        if throttled:
            refused.headers["Retry-After"] = str(max(1, math.ceil(decision.retry_after)))
        return refused
    # A new session id at every sign-in: an id planted before it is never promoted.
    response = RedirectResponse("/", status_code=303)
    response.set_cookie(SESSION_COOKIE, cookie, **cookie_options(request))
    response.delete_cookie(SIGN_IN_CSRF_COOKIE)
    return response


@router.post("/sign-out")
async def sign_out(request: Request, session: SessionDep, _: AnyoneForm) -> Response:
    users.sign_out(session, request.cookies.get(SESSION_COOKIE, ""))
    response = RedirectResponse("/sign-in", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response


@router.get("/language")
def switch_language(request: Request, to: str = "en", back: str = "/") -> Response:
    """Choose the dashboard's language for this browser (kept in a cookie)."""
    response = RedirectResponse(local_path(back), status_code=303)
    if to in i18n.LANGUAGES:
        response.set_cookie(LANGUAGE_COOKIE, to, samesite="lax", max_age=365 * 86400)
    return response


@router.get("/settings")
def settings_page(request: Request, who: AnyonePage) -> Response:
    """The person's own settings (the dashboard's language) and, for owners, the store's time
    zone."""
    return _settings(request, who, saved=request.query_params.get("saved") == "1")


def _settings(
    request: Request, who: users.SignedIn, *, saved: bool = False, problem: str = ""
) -> Response:
    return render(
        request,
        "settings.html",
        language(request, who),
        status_code=422 if problem else 200,
        who=who,
        languages=i18n.LANGUAGES,
        saved=saved,
        may_set_zone=may(who, OWNERS),
        zones=i18n.zones(),
        country_zone=i18n.default_zone(who.organization.default_country),
        problem=problem,
    )


@router.post("/settings")
async def save_settings(request: Request, session: SessionDep, posted: AnyoneForm) -> Response:
    who, form = posted.who, posted.form
    if may(who, OWNERS) and "time_zone" in form.first_values():
        zone = form.get("time_zone") or None
        if zone is not None and zone not in i18n.zones():
            return _settings(request, who, problem=f"{zone!r} is not a time zone")
        auth.set_time_zone(session, who.organization, zone)
    users.set_language(session, who.user, form.get("language") or None)
    # The person's choice wins from now on: the switch's cookie for this browser is dropped.
    response = RedirectResponse("/settings?saved=1", status_code=303)
    response.delete_cookie(LANGUAGE_COOKIE)
    return response
