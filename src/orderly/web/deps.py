"""What every dashboard page needs: who is signed in, the language, the posted form, and the
refusal of a form without the session's CSRF token or the role it takes.

Pages take who may see them as a dependency (``OwnerPage``, ``WriterForm`` …): a person whose
role may not is answered by ``PageRefused``'s page (sign-in, or 403) before the page runs.
"""

from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import parse_qs

from fastapi import Depends, FastAPI, Request
from fastapi.responses import RedirectResponse, Response

from orderly.auth import users
from orderly.auth.models import Role
from orderly.core.actor import current_actor
from orderly.core.db import SessionDep
from orderly.core.http import has_unstorable_text
from orderly.web import i18n
from orderly.web.pages import render

SESSION_COOKIE = "orderly_session"
SIGN_IN_CSRF_COOKIE = "orderly_csrf"
LANGUAGE_COOKIE = "orderly_lang"

# Who may do what: staff handle orders; owners also people, tokens and integrations.
ORDER_WRITERS = frozenset({Role.OWNER, Role.STAFF})
OWNERS = frozenset({Role.OWNER})
EVERYONE = frozenset(Role)


def language(request: Request, signed_in: users.SignedIn | None = None) -> str:
    return i18n.choose_language(
        request.cookies.get(LANGUAGE_COOKIE),
        signed_in.user.language if signed_in else None,
        request.headers.get("accept-language"),
    )


def cookie_options(request: Request) -> dict[str, Any]:
    return {"httponly": True, "samesite": "lax", "secure": request.url.scheme == "https"}


class Form:
    """A posted form (``application/x-www-form-urlencoded``): one value, or all of a name's."""

    def __init__(self, fields: dict[str, list[str]]) -> None:
        self._fields = fields

    def get(self, name: str, default: str = "") -> str:
        values = self._fields.get(name)
        return values[0] if values else default

    def all(self, name: str) -> list[str]:
        return self._fields.get(name, [])

    def first_values(self) -> dict[str, str]:
        return {name: values[0] for name, values in self._fields.items()}


async def read_form(request: Request) -> Form:
    """The posted form; one with text no database can store (NUL) is refused whole (400), as
    the API refuses such JSON, instead of being changed behind the person's back."""
    body = (await request.body()).decode("utf-8", "replace")
    fields = parse_qs(body, keep_blank_values=True)
    if has_unstorable_text(fields):
        raise PageRefused(render(request, "bad_form.html", language(request), status_code=400))
    return Form(fields)


def local_path(back: str) -> str:
    """``back`` if it is a path of this site, else ``/``: a link or form must not send a person
    elsewhere once it is done (an open redirect). Browsers read a backslash as a slash
    (``/\\evil.example`` is ``//evil.example``) and drop tabs and newlines, so neither is let
    through."""
    if not back.startswith("/") or back.startswith("//"):
        return "/"
    if "\\" in back or any(character in back for character in "\t\r\n"):
        return "/"
    return back


def _signed_in(request: Request, session: SessionDep) -> users.SignedIn | None:
    cookie = request.cookies.get(SESSION_COOKIE)
    return users.current(session, cookie) if cookie else None


SignedInDep = Annotated[users.SignedIn | None, Depends(_signed_in)]


def may(who: users.SignedIn, roles: Collection[Role]) -> bool:
    return who.user.role in roles


def history_source(who: users.SignedIn) -> str:
    """How an order's history names a change made in the dashboard."""
    return f"dashboard:{who.user.email}"[:64]


class PageRefused(Exception):
    """A page or form that may not go ahead; ``response`` is what the browser gets instead."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status_code)
        self.response = response


async def _answer_refusal(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, PageRefused)
    return exc.response


def install_refusals(app: FastAPI) -> None:
    app.add_exception_handler(PageRefused, _answer_refusal)


def forbidden(request: Request, who: users.SignedIn | None) -> PageRefused:
    """403: with ``who``, their role may not; without, the form's token was missing or wrong."""
    page = render(request, "forbidden.html", language(request, who), who=who, status_code=403)
    return PageRefused(page)


def not_found(request: Request, who: users.SignedIn) -> PageRefused:
    """404: no such order, connection, delivery or token in the person's organization."""
    page = render(request, "not_found.html", language(request, who), who=who, status_code=404)
    return PageRefused(page)


def _page_for(
    roles: Collection[Role],
) -> Callable[[users.SignedIn | None, Request], users.SignedIn]:
    def signed_in(who: SignedInDep, request: Request) -> users.SignedIn:
        if who is None:
            raise PageRefused(RedirectResponse("/sign-in", status_code=303))
        if not may(who, roles):
            raise forbidden(request, who)
        return who

    return signed_in


@dataclass(frozen=True)
class Posted:
    """A form that may go ahead: who sent it, and its fields."""

    who: users.SignedIn
    form: Form


def _form_for(
    roles: Collection[Role],
) -> Callable[[users.SignedIn | None, Request], Awaitable[Posted]]:
    async def posted(who: SignedInDep, request: Request) -> Posted:
        form = await read_form(request)
        if who is None or not users.csrf_matches(who.csrf_token, form.get("csrf") or None):
            raise forbidden(request, None)
        if not may(who, roles):
            raise forbidden(request, who)
        current_actor.set(f"user:{who.user.id}")  # the audit trail's actor
        return Posted(who, form)

    return posted


AnyonePage = Annotated[users.SignedIn, Depends(_page_for(EVERYONE))]
WriterPage = Annotated[users.SignedIn, Depends(_page_for(ORDER_WRITERS))]
OwnerPage = Annotated[users.SignedIn, Depends(_page_for(OWNERS))]
AnyoneForm = Annotated[Posted, Depends(_form_for(EVERYONE))]
WriterForm = Annotated[Posted, Depends(_form_for(ORDER_WRITERS))]
OwnerForm = Annotated[Posted, Depends(_form_for(OWNERS))]
