"""A platform's fulfilments (with tracking) and refunds become the order's shipments and
refunds, once each however often the platform repeats them (Shopify's REST order object:
its published example with a fulfilment and a refund; WooCommerce's refunds)."""

import json
from decimal import Decimal
from typing import Any

import httpx

from tests.factories import exact
from tests.integrations.conftest import Connect, Deliver, fixture_bytes, orders_of

SHOPIFY_SAMPLE = "shopify/order-with-fulfillments-and-refunds.json"


def only_order(api: httpx.Client) -> dict[str, Any]:
    [listed] = orders_of(api)
    return dict(exact(api.get(f"/api/v1/orders/{listed['id']}")))


class TestShopify:
    def test_fulfilments_and_refunds_are_taken_once(
        self, api: httpx.Client, connect: Connect, deliver: Deliver
    ) -> None:
        connection = connect("shopify")
        body = fixture_bytes(SHOPIFY_SAMPLE)
        for _ in range(3):  # the platform repeats itself
            sent = deliver(connection, body, **{"X-Shopify-Topic": "orders/updated"})
            assert sent.status_code == 200, sent.text
        order = only_order(api)
        [shipment] = order["shipments"]
        # The sample's fulfilment failed ("status": "failure"): it never left.
        assert shipment["status"] == "cancelled"
        assert (shipment["carrier"], shipment["tracking_number"]) == ("USPS", "1Z2345")
        assert shipment["external_id"] == "255858046"
        assert shipment["lines"] == [{"line": 1, "quantity": 1}]
        assert shipment["actor"] == f"connection:{connection['id']}"
        [refund] = order["refunds"]
        assert refund["amount"] == Decimal("209.00")
        assert refund["lines"] == [{"line": 1, "quantity": 1}, {"line": 3, "quantity": 1}]
        assert refund["note"] == "it broke during shipping"
        assert refund["restock"] is True
        assert (order["refunded_amount"], order["net_amount"]) == (
            Decimal("209.00"),
            Decimal("389.94"),
        )
        assert order["payment_status"] == "partially_refunded"
        assert order["fulfillment_status"] == "unfulfilled"

    def test_a_later_delivery_moves_the_tracking(
        self, api: httpx.Client, connect: Connect, deliver: Deliver
    ) -> None:
        connection = connect("shopify")
        sample = json.loads(fixture_bytes(SHOPIFY_SAMPLE))
        sample["fulfillments"][0].update(status="success", shipment_status="in_transit")
        sample["refunds"] = []
        deliver(connection, json.dumps(sample).encode(), **{"X-Shopify-Topic": "orders/updated"})
        assert only_order(api)["shipments"][0]["status"] == "in_transit"
        sample["fulfillments"][0]["shipment_status"] = "delivered"
        sample["updated_at"] = "2008-01-10T12:00:00-05:00"
        deliver(connection, json.dumps(sample).encode(), **{"X-Shopify-Topic": "orders/updated"})
        order = only_order(api)
        assert [s["status"] for s in order["shipments"]] == ["delivered"]
        assert order["fulfillment_status"] == "partially_fulfilled"
        assert order["products"][0]["fulfilled_quantity"] == 1


class TestWooCommerce:
    def test_the_order_objects_refunds_are_taken_once(
        self, api: httpx.Client, connect: Connect, deliver: Deliver
    ) -> None:
        connection = connect("woocommerce")
        # The published "Update an order" example with one refund in the documented shape
        # ({id, reason, total}, the total negative): the samples published have none.
        sample = json.loads(fixture_bytes("woocommerce/order.updated.json"))
        sample["refunds"] = [{"id": 726, "reason": "Late delivery", "total": "-10.00"}]
        body = json.dumps(sample).encode()
        for _ in range(2):
            assert (
                deliver(connection, body, **{"X-WC-Webhook-Topic": "order.updated"}).status_code
                == 200
            )
        order = only_order(api)
        [refund] = order["refunds"]
        assert (refund["amount"], refund["reason"], refund["external_id"]) == (
            Decimal("10.00"),
            "Late delivery",
            "726",
        )
        assert order["payment_status"] == "partially_refunded"
        assert order["refunded_amount"] == Decimal("10.00")


class TestSalla:
    def test_a_shipment_with_a_tracking_number_carries_the_whole_order(
        self, api: httpx.Client, connect: Connect, deliver: Deliver
    ) -> None:
        connection = connect("salla")
        sample = json.loads(fixture_bytes("salla/order.created.json"))
        deliver(connection, json.dumps(sample).encode())
        assert only_order(api)["shipments"] == []  # the sample's shipment has no number yet
        shipment = sample["data"]["shipments"][0]
        shipment.update(tracking_number="SMSA123456", status="delivering")
        shipment["tracking_link"] = "https://track.example/SMSA123456"
        sample["created_at"] = "Sun Apr 30 2023 11:00:00 GMT+0300"
        for _ in range(2):
            deliver(connection, json.dumps(sample).encode())
        order = only_order(api)
        [parcel] = order["shipments"]
        assert (parcel["tracking_number"], parcel["status"]) == ("SMSA123456", "out_for_delivery")
        assert [p["fulfilled_quantity"] for p in order["products"]] == [
            p["quantity"] for p in order["products"]
        ]
        assert order["fulfillment_status"] == "fulfilled"
