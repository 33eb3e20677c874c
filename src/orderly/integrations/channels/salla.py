"""Salla's Merchant API: orders created since a date (``from_date``; Salla's list filters by
creation only), ``expanded`` to their full details, ``page`` by ``page`` (at most 60), with
the merchant's access token; a status pushed with Update Order Status (its ``slug``)."""

from typing import Any

from orderly.integrations.channels.base import (
    Answer,
    Call,
    Caller,
    Change,
    Channel,
    Credentials,
    MalformedAnswer,
    Page,
    Walk,
    list_of,
    reverse,
)
from orderly.integrations.models import Platform
from orderly.integrations.platforms.salla import STATUS

STATUS_OF = reverse(STATUS)
BASE_URL = "https://api.salla.dev/admin/v2"


class SallaChannel(Channel):
    platform = Platform.SALLA
    required = ("access_token",)
    secrets = ("access_token",)
    largest_page = 60
    webhook_topic = "order.updated"

    def base_url(self, credentials: Credentials) -> str:
        return credentials.api_base_url or BASE_URL

    def headers(self, credentials: Credentials) -> dict[str, str]:
        return {"Authorization": f"Bearer {credentials['access_token']}"}

    def list_call(self, walk: Walk) -> Call:
        # A day's margin: Salla reads the date in the store's time zone.
        day = walk.since_time.date().toordinal() - 1
        from_date = type(walk.since_time.date()).fromordinal(day)
        return Call(
            "GET",
            "/orders",
            {
                "from_date": from_date.strftime("%d-%m-%Y"),
                "expanded": "true",
                "per_page": str(self.largest_page),
                "page": str(walk.page),
            },
        )

    def read_page(self, answer: Answer, walk: Walk) -> Page:
        payload = answer.json()
        orders = list_of(payload, "data")
        pagination = payload.get("pagination")
        if not isinstance(pagination, dict):
            raise MalformedAnswer("The answer has no pagination")
        try:
            current, pages = int(pagination["currentPage"]), int(pagination["totalPages"])
            total = int(pagination["total"])
        except (KeyError, TypeError, ValueError):
            raise MalformedAnswer("The answer's pagination is not Salla's") from None
        return Page(orders=orders, more=current < pages, total=total)

    def as_webhook(self, order: Any, read_at: str) -> Any:
        # Salla's webhooks wrap the same order in its event envelope, whose time is the time
        # of the state (its order has none): here, when Salla answered.
        return {"event": self.webhook_topic, "created_at": read_at, "data": order}

    def pushed(self, change: Change) -> bool:
        return change.action == "status" and change.status in STATUS_OF

    async def push(self, call: Caller, change: Change) -> list[Call]:
        assert change.status is not None
        made = Call(
            "POST", f"/orders/{change.external_id}/status", json={"slug": STATUS_OF[change.status]}
        )
        await call(made)
        return [made]
