"""Webhooks, for owners: the organization's endpoints with their health, adding one (its
secret shown once), one endpoint's delivery log with every attempt, retrying a delivery, and
pausing or resuming the endpoint."""

from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from orderly.auth import users
from orderly.core.db import SessionDep
from orderly.core.errors import OrderlyError, validation_details
from orderly.events.service import EVENT_TYPES
from orderly.web.deps import OwnerForm, OwnerPage, language, not_found
from orderly.web.pages import render
from orderly.webhooks import service
from orderly.webhooks.models import DeliveryState
from orderly.webhooks.schemas import ALL_EVENTS, DeliveryQuery, EndpointCreate, EndpointUpdate

router = APIRouter(prefix="/webhooks")


def _webhooks_page(
    request: Request,
    session: Session,
    who: users.SignedIn,
    errors: dict[str, str],
    status_code: int = 200,
) -> Response:
    endpoints = list(service.list_endpoints(session, who.organization))
    return render(
        request,
        "webhooks.html",
        language(request, who),
        who=who,
        endpoints=endpoints,
        health=service.health(session, who.organization, endpoints),
        event_types=EVENT_TYPES,
        errors=errors,
        status_code=status_code,
    )


@router.get("")
def webhooks_page(request: Request, session: SessionDep, who: OwnerPage) -> Response:
    """The organization's endpoints, their health, and the form that adds one."""
    return _webhooks_page(request, session, who, {})


@router.post("")
async def add_endpoint(request: Request, session: SessionDep, posted: OwnerForm) -> Response:
    """Add an endpoint: the answer is the only page that ever shows its secret."""
    who, form = posted.who, posted.form
    chosen = form.all("events")
    try:
        body = EndpointCreate.model_validate(
            {
                "url": form.get("url", ""),
                "description": form.get("description") or None,
                "events": chosen if chosen else [ALL_EVENTS],
            }
        )
    except ValidationError as exc:
        return _webhooks_page(request, session, who, validation_details(exc.errors()), 422)
    new = service.create_endpoint(session, who.organization, body)
    return render(
        request,
        "webhook_added.html",
        language(request, who),
        who=who,
        endpoint=new.endpoint,
        secret=new.secret,
    )


@router.get("/{endpoint_id}")
def endpoint_page(
    request: Request, endpoint_id: str, session: SessionDep, who: OwnerPage
) -> Response:
    """An endpoint's deliveries, newest first, each with its attempts; filtered by state."""
    params = {k: v for k, v in request.query_params.items() if v != "" and k != "retried"}
    try:
        query = DeliveryQuery.model_validate(params)
        endpoint = service.get_endpoint(session, who.organization, endpoint_id)
        state = query.state.value if query.state else None
        page = service.list_deliveries(
            session, who.organization, endpoint_id, state, page=query.page, limit=query.limit
        )
    except ValidationError:
        return RedirectResponse(f"/webhooks/{endpoint_id}", status_code=303)
    except OrderlyError:
        raise not_found(request, who) from None
    next_url = None
    if query.page * query.limit < page.total:
        next_url = "?" + urlencode({**params, "page": query.page + 1})
    return render(
        request,
        "webhook.html",
        language(request, who),
        who=who,
        endpoint=endpoint,
        health=service.health(session, who.organization, [endpoint])[endpoint.id],
        deliveries=page.deliveries,
        attempts=page.attempts,
        total=page.total,
        state=state,
        states=[s.value for s in DeliveryState],
        next_url=next_url,
        retried=request.query_params.get("retried") == "1",
    )


@router.post("/{endpoint_id}/deliveries/{delivery_id}/retry")
async def retry(
    request: Request, endpoint_id: str, delivery_id: str, session: SessionDep, posted: OwnerForm
) -> Response:
    """Send the delivery again now, as ``POST …/retry`` does."""
    try:
        service.retry(session, posted.who.organization, endpoint_id, delivery_id)
    except service.EndpointDisabled:
        return RedirectResponse(f"/webhooks/{endpoint_id}", status_code=303)
    except OrderlyError:
        raise not_found(request, posted.who) from None
    return RedirectResponse(f"/webhooks/{endpoint_id}?retried=1", status_code=303)


@router.post("/{endpoint_id}/enabled")
async def switch(
    request: Request, endpoint_id: str, session: SessionDep, posted: OwnerForm
) -> Response:
    """Pause or resume the endpoint (resumed, it is sent what it missed)."""
    enabled = posted.form.get("enabled") == "true"
    try:
        service.update_endpoint(
            session, posted.who.organization, endpoint_id, EndpointUpdate(enabled=enabled)
        )
    except OrderlyError:
        raise not_found(request, posted.who) from None
    return RedirectResponse(f"/webhooks/{endpoint_id}", status_code=303)
