"""Integrations, for owners: connect a platform (its webhook URL and secret shown once, with
the platform's set-up steps), the connections, each one's delivery inbox (filtered by
outcome), one delivery's headers and body, and replay."""

from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from orderly.auth import users
from orderly.core.db import SessionDep
from orderly.core.errors import OrderlyError, ValidationFailed, validation_details
from orderly.integrations import pushback, service, sync
from orderly.integrations.channels import CHANNELS
from orderly.integrations.models import Outcome, Platform
from orderly.integrations.routes import request_base_url
from orderly.integrations.schemas import (
    BackfillStart,
    ConnectionCreate,
    CredentialsSet,
    DeliveryQuery,
)
from orderly.web.deps import (
    OwnerForm,
    OwnerPage,
    language,
    not_found,
)
from orderly.web.pages import render

router = APIRouter(prefix="/integrations")


def _integrations_page(
    request: Request,
    session: Session,
    who: users.SignedIn,
    errors: dict[str, str],
    status_code: int = 200,
) -> Response:
    base_url = request_base_url(request)
    return render(
        request,
        "integrations.html",
        language(request, who),
        who=who,
        connections=[
            (connection, service.webhook_url(connection, base_url))
            for connection in service.list_connections(session, who.organization)
        ],
        platforms=[p.value for p in Platform],
        errors=errors,
        status_code=status_code,
    )


@router.get("")
def integrations_page(request: Request, session: SessionDep, who: OwnerPage) -> Response:
    """The organization's connections and the form that adds one."""
    return _integrations_page(request, session, who, {})


@router.post("")
async def connect(request: Request, session: SessionDep, posted: OwnerForm) -> Response:
    """Connect a platform: the answer is the only page that ever shows the secret."""
    who, form = posted.who, posted.form
    try:
        body = ConnectionCreate.model_validate(
            {
                "platform": form.get("platform"),
                "name": form.get("name") or None,
                "secret": form.get("secret") or None,
            }
        )
    except ValidationError as exc:
        return _integrations_page(request, session, who, validation_details(exc.errors()), 422)
    new = service.create_connection(session, who.organization, body)
    # Rendered pages are never cached (no-store): the secret stays on this page.
    return render(
        request,
        "connected.html",
        language(request, who),
        who=who,
        connection=new.connection,
        webhook_url=service.webhook_url(new.connection, request_base_url(request)),
        secret=new.secret,
    )


@router.get("/{connection_id}")
def inbox_page(
    request: Request, connection_id: str, session: SessionDep, who: OwnerPage
) -> Response:
    """A connection's deliveries, newest first, filtered by outcome."""
    params = {k: v for k, v in request.query_params.items() if v != ""}
    try:
        query = DeliveryQuery.model_validate(params)
        connection = service.get_connection(session, who.organization, connection_id)
        page = service.list_deliveries(session, who.organization, connection_id, query)
    except ValidationError:
        return RedirectResponse(f"/integrations/{connection_id}", status_code=303)
    except OrderlyError:
        raise not_found(request, who) from None
    next_url = None
    if page.has_next:
        next_url = "?" + urlencode({**params, "page": query.page + 1})
    return render(
        request,
        "inbox.html",
        language(request, who),
        who=who,
        connection=connection,
        webhook_url=service.webhook_url(connection, request_base_url(request)),
        deliveries=page.deliveries,
        total=page.total,
        outcome=query.outcome,
        outcomes=[o.value for o in Outcome],
        next_url=next_url,
    )


@router.get("/{connection_id}/deliveries/{delivery_id}")
def delivery_page(
    request: Request, connection_id: str, delivery_id: str, session: SessionDep, who: OwnerPage
) -> Response:
    """One delivery as received (headers and body), its outcome, and replay."""
    try:
        connection = service.get_connection(session, who.organization, connection_id)
        delivery = service.get_delivery(session, who.organization, connection_id, delivery_id)
    except OrderlyError:
        raise not_found(request, who) from None
    return render(
        request,
        "delivery.html",
        language(request, who),
        who=who,
        connection=connection,
        delivery=delivery,
        body=delivery.body.decode("utf-8", "replace"),
        replayed=request.query_params.get("replayed") == "1",
    )


@router.post("/{connection_id}/deliveries/{delivery_id}/replay")
async def replay(
    request: Request, connection_id: str, delivery_id: str, session: SessionDep, posted: OwnerForm
) -> Response:
    """Process the stored delivery again, as ``POST …/replay`` does."""
    who = posted.who
    try:
        service.replay(session, who.organization, connection_id, delivery_id)
    except service.NotReplayable:
        pass  # an unverified delivery: the page says why it cannot be replayed
    except OrderlyError:
        raise not_found(request, who) from None
    return RedirectResponse(
        f"/integrations/{connection_id}/deliveries/{delivery_id}?replayed=1", status_code=303
    )


# ---- a connection's sync with its platform ----------------------------------------------------


def _sync_page(
    request: Request,
    session: Session,
    who: users.SignedIn,
    connection_id: str,
    errors: dict[str, str],
    status_code: int = 200,
) -> Response:
    try:
        state = sync.sync_state(session, who.organization, connection_id)
    except OrderlyError:
        raise not_found(request, who) from None
    channel = CHANNELS.get(Platform(state.connection.platform))
    return render(
        request,
        "connection_sync.html",
        language(request, who),
        who=who,
        connection=state.connection,
        state=state,
        channel=channel,
        pushes=pushback.list_pushes(
            session, who.organization, connection_id, state=None, order_id=None, limit=20
        ),
        notice=request.query_params.get("done"),
        errors=errors,
        status_code=status_code,
    )


@router.get("/{connection_id}/sync")
def sync_page(
    request: Request, connection_id: str, session: SessionDep, who: OwnerPage
) -> Response:
    """Credentials, polls, backfill progress and push back of one connection."""
    return _sync_page(request, session, who, connection_id, {})


@router.post("/{connection_id}/credentials")
async def save_credentials(
    request: Request, connection_id: str, session: SessionDep, posted: OwnerForm
) -> Response:
    """The credentials form, as ``PUT …/credentials`` takes it."""
    who, form = posted.who, posted.form
    fields = {
        k: v for k, v in form.first_values().items() if k not in ("csrf", "push_back") and v.strip()
    }
    try:
        body = CredentialsSet.model_validate({**fields, "push_back": bool(form.get("push_back"))})
        sync.set_credentials(session, who.organization, connection_id, body)
    except ValidationError as exc:
        errors = validation_details(exc.errors())
        return _sync_page(request, session, who, connection_id, errors, 422)
    except ValidationFailed as exc:
        errors = {k: str(v) for k, v in exc.details.items()}
        return _sync_page(request, session, who, connection_id, errors, 422)
    except OrderlyError:
        raise not_found(request, who) from None
    return RedirectResponse(f"/integrations/{connection_id}/sync?done=saved", status_code=303)


@router.post("/{connection_id}/sync")
async def sync_now(
    request: Request, connection_id: str, session: SessionDep, posted: OwnerForm
) -> Response:
    """ "Sync now": the connection's poll made due, for the server's worker to run at once."""
    try:
        sync.poll_soon(session, posted.who.organization, connection_id)
    except OrderlyError:
        raise not_found(request, posted.who) from None
    return RedirectResponse(f"/integrations/{connection_id}/sync?done=asked", status_code=303)


@router.post("/{connection_id}/backfill")
async def backfill(
    request: Request, connection_id: str, session: SessionDep, posted: OwnerForm
) -> Response:
    """ "Backfill": the server takes the platform's orders since the date given."""
    who, form = posted.who, posted.form
    try:
        body = BackfillStart.model_validate({"since": form.get("since", "")})
        sync.start_backfill(session, who.organization, connection_id, body.since)
    except ValidationError:
        errors = {"since": "A date such as 2024-01-31"}
        return _sync_page(request, session, who, connection_id, errors, 422)
    except OrderlyError:
        raise not_found(request, who) from None
    return RedirectResponse(f"/integrations/{connection_id}/sync?done=backfill", status_code=303)


@router.post("/{connection_id}/pushes/{push_id}/retry")
async def retry_push(
    request: Request, connection_id: str, push_id: str, session: SessionDep, posted: OwnerForm
) -> Response:
    """A refused or failed push, sent again."""
    try:
        pushback.retry(session, posted.who.organization, connection_id, push_id)
    except pushback.NotRetryable:
        pass
    except OrderlyError:
        raise not_found(request, posted.who) from None
    return RedirectResponse(f"/integrations/{connection_id}/sync?done=retried", status_code=303)
