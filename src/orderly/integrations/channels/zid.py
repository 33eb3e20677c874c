"""Zid's Merchant API: orders updated since a time (``date_attribute=updated_at``), oldest
created first, ``page`` by ``page`` (at most 100), with the partner's ``Authorization`` and
the store's ``X-Manager-Token``; a status (and a shipment's tracking) pushed with Change
Order Status."""

from orderly.integrations.channels.base import (
    Answer,
    Call,
    Caller,
    Change,
    Channel,
    Credentials,
    Page,
    Walk,
    list_of,
    reverse,
)
from orderly.integrations.models import Platform
from orderly.integrations.platforms.zid import STATUS
from orderly.orders.statuses import OrderStatus

STATUS_OF = reverse(STATUS)
BASE_URL = "https://api.zid.sa/v1"


class ZidChannel(Channel):
    platform = Platform.ZID
    required = ("manager_token", "authorization")
    secrets = ("manager_token", "authorization")
    largest_page = 100

    def base_url(self, credentials: Credentials) -> str:
        return credentials.api_base_url or BASE_URL

    def headers(self, credentials: Credentials) -> dict[str, str]:
        authorization = credentials["authorization"]
        if not authorization.lower().startswith("bearer "):
            authorization = f"Bearer {authorization}"
        return {
            "Authorization": authorization,
            "X-Manager-Token": credentials["manager_token"],
            "Accept-Language": "en",
        }

    def list_call(self, walk: Walk) -> Call:
        since = walk.since_time.strftime("%Y-%m-%dT%H:%M:%S.000+0000")
        return Call(
            "GET",
            "/managers/store/orders",
            {
                "payload_type": "default",
                "date_attribute": "updated_at",
                "date_from": since,
                "sort_by": "asc",
                "per_page": str(self.largest_page),
                "page": str(walk.page),
            },
        )

    def read_page(self, answer: Answer, walk: Walk) -> Page:
        payload = answer.json()
        orders = list_of(payload, "orders")
        total = payload.get("total_order_count")
        total = total if isinstance(total, int) else None
        more = (
            walk.page * self.largest_page < total
            if total is not None
            else len(orders) == self.largest_page
        )
        return Page(orders=orders, more=more, total=total)

    def pushed(self, change: Change) -> bool:
        if change.action == "shipment":
            return True
        return change.action == "status" and change.status in STATUS_OF

    async def push(self, call: Caller, change: Change) -> list[Call]:
        form = {"order_status": STATUS_OF[change.status or OrderStatus.SHIPPED]}
        if change.shipment is not None:
            for key, value in (
                ("tracking_number", change.shipment.tracking_number),
                ("tracking_url", change.shipment.tracking_url),
            ):
                if value:
                    form[key] = value
        made = Call(
            "POST", f"/managers/store/orders/{change.external_id}/change-order-status", form=form
        )
        await call(made)
        return [made]
