"""Shopify's REST Admin API (2024-01): orders listed by ``updated_at_min`` and followed by the
``Link`` header's cursor, paced by the leaky bucket's ``X-Shopify-Shop-Api-Call-Limit``;
shipments pushed as fulfillments of the order's fulfillment orders, cancellations as a cancel.
"""

import re
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
)
from orderly.integrations.models import Platform
from orderly.orders.statuses import OrderStatus

API_VERSION = "2024-01"
_NEXT = re.compile(r'<([^>]+)>;\s*rel="?next"?')
_LIMIT = re.compile(r"\s*(\d+)\s*/\s*(\d+)\s*")
LEAK_PER_SECOND = 2.0  # the standard plan's bucket: 40 calls, 2 leave each second
# Fulfillment orders that can still be fulfilled (FulfillmentOrder.status).
_OPEN = {"open", "in_progress", "scheduled"}


class ShopifyChannel(Channel):
    platform = Platform.SHOPIFY
    required = ("shop_domain", "access_token")
    secrets = ("access_token",)
    largest_page = 250

    def base_url(self, credentials: Credentials) -> str:
        return credentials.api_base_url or (
            f"https://{credentials['shop_domain']}/admin/api/{API_VERSION}"
        )

    def headers(self, credentials: Credentials) -> dict[str, str]:
        return {"X-Shopify-Access-Token": credentials["access_token"]}

    def list_call(self, walk: Walk) -> Call:
        if walk.next_url:
            return Call("GET", walk.next_url)  # page_info carries the filters
        return Call(
            "GET",
            "/orders.json",
            {
                "status": "any",
                "updated_at_min": walk.since,
                "order": "updated_at asc",
                "limit": str(self.largest_page),
            },
        )

    def read_page(self, answer: Answer, walk: Walk) -> Page:
        orders = list_of(answer.json(), "orders")
        found = _NEXT.search(answer.headers.get("link", ""))
        return Page(orders=orders, more=found is not None, next_url=found and found.group(1))

    def pause_after(self, answer: Answer) -> float:
        # "X-Shopify-Shop-Api-Call-Limit: 32/40": wait for the bucket to drain below its last
        # few places rather than earn a 429.
        found = _LIMIT.fullmatch(answer.headers.get("x-shopify-shop-api-call-limit", ""))
        if not found:
            return 0.0
        used, size = int(found.group(1)), int(found.group(2))
        over = used - (size - 4)
        return max(0.0, over / LEAK_PER_SECOND)

    def pushed(self, change: Change) -> bool:
        if change.action == "shipment":
            return True
        return change.action == "status" and change.status == OrderStatus.CANCELLED

    async def push(self, call: Caller, change: Change) -> list[Call]:
        order = change.external_id
        if change.action == "status":
            cancel = Call("POST", f"/orders/{order}/cancel.json", json={})
            await call(cancel)
            return [cancel]
        assert change.shipment is not None
        listing = Call("GET", f"/orders/{order}/fulfillment_orders.json")
        found = list_of((await call(listing)).json(), "fulfillment_orders")
        open_ones = [
            f["id"] for f in found if isinstance(f, dict) and f.get("status") in _OPEN and "id" in f
        ]
        if not open_ones:
            raise MalformedAnswer("The order has no open fulfillment order to fulfil")
        shipment = change.shipment
        tracking: dict[str, Any] = {
            key: value
            for key, value in (
                ("number", shipment.tracking_number),
                ("url", shipment.tracking_url),
                ("company", shipment.carrier),
            )
            if value
        }
        fulfil = Call(
            "POST",
            "/fulfillments.json",
            json={
                "fulfillment": {
                    "line_items_by_fulfillment_order": [
                        {"fulfillment_order_id": fid} for fid in open_ones
                    ],
                    "tracking_info": tracking,
                    "notify_customer": True,
                }
            },
        )
        await call(fulfil)
        return [listing, fulfil]
