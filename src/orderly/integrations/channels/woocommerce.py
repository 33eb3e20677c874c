"""WooCommerce's REST API v3: orders listed by ``modified_after`` in id order, ``page`` by
``page`` (at most 100 a page, ``X-WP-TotalPages``), with the consumer key and secret as HTTP
Basic credentials; a status pushed as the order's ``status``, a shipment's tracking as a note
to the customer, a refund as an order refund."""

import base64

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
    header_int,
    reverse,
)
from orderly.integrations.models import Platform
from orderly.integrations.platforms.woocommerce import STATUS

STATUS_OF = reverse(STATUS)


class WooCommerceChannel(Channel):
    platform = Platform.WOOCOMMERCE
    required = ("store_url", "consumer_key", "consumer_secret")
    secrets = ("consumer_secret",)
    largest_page = 100

    def base_url(self, credentials: Credentials) -> str:
        root = credentials.api_base_url or credentials["store_url"].rstrip("/")
        return f"{root}/wp-json/wc/v3"

    def headers(self, credentials: Credentials) -> dict[str, str]:
        pair = f"{credentials['consumer_key']}:{credentials['consumer_secret']}"
        return {"Authorization": "Basic " + base64.b64encode(pair.encode()).decode()}

    def list_call(self, walk: Walk) -> Call:
        return Call(
            "GET",
            "/orders",
            {
                "modified_after": walk.since,
                "dates_are_gmt": "true",
                "orderby": "id",
                "order": "asc",
                "per_page": str(self.largest_page),
                "page": str(walk.page),
            },
        )

    def read_page(self, answer: Answer, walk: Walk) -> Page:
        orders = answer.json()
        if not isinstance(orders, list):
            raise MalformedAnswer("The answer is not a list of orders")
        pages = header_int(answer.headers, "x-wp-totalpages")
        more = walk.page < pages if pages is not None else len(orders) == self.largest_page
        return Page(orders=orders, more=more, total=header_int(answer.headers, "x-wp-total"))

    def pushed(self, change: Change) -> bool:
        if change.action == "status":
            return change.status in STATUS_OF
        return change.action in ("shipment", "refund")

    async def push(self, call: Caller, change: Change) -> list[Call]:
        order = change.external_id
        if change.action == "status":
            assert change.status is not None
            made = Call("PUT", f"/orders/{order}", json={"status": STATUS_OF[change.status]})
        elif change.action == "shipment":
            assert change.shipment is not None
            shipment = change.shipment
            parts = [p for p in (shipment.carrier, shipment.tracking_number) if p]
            note = "Shipped" + (f": {' '.join(parts)}" if parts else "")
            if shipment.tracking_url:
                note += f" {shipment.tracking_url}"
            made = Call(
                "POST", f"/orders/{order}/notes", json={"note": note, "customer_note": True}
            )
        else:
            made = Call(
                "POST",
                f"/orders/{order}/refunds",
                json={
                    "amount": change.refund_amount,
                    "reason": change.refund_reason or "",
                    "api_refund": False,  # the money was given back elsewhere; record it
                },
            )
        await call(made)
        return [made]
