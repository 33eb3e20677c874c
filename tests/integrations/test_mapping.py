"""Each published sample, signed as its platform signs it, becomes exactly this unified order."""

from decimal import Decimal
from typing import Any

import httpx
import pytest

from tests.factories import exact
from tests.integrations.conftest import Connect, Deliver, fixture_bytes, orders_of


def _history(source: str, status: str, payment: str, fulfillment: str) -> list[dict[str, Any]]:
    return [
        {"field": "status", "from": None, "to": status, "source": source},
        {"field": "payment_status", "from": None, "to": payment, "source": source},
        {"field": "fulfillment_status", "from": None, "to": fulfillment, "source": source},
    ]


EXPECTED: dict[str, tuple[str, str, dict[str, Any]]] = {
    "salla order.created": (
        "salla",
        "salla/order.created.json",
        {
            "source": "salla",
            "external_id": "2116149737",
            "external_number": "41027662",
            "customer_name": "Mohammed Ali",
            "customer_email": "usertest@gmail.com",
            "customer_phone": "+966501806978",  # mobile_code + mobile
            "products": [
                {
                    "product_id": "720881993",
                    "name": "بيتزا",
                    "quantity": 1,
                    "price": Decimal("186.00"),
                    "total": Decimal("186.00"),
                }
            ],
            "subtotal": Decimal("186.00"),
            "discount": Decimal("5.00"),
            "tax": Decimal("0.00"),
            "delivery_fee": Decimal("15.00"),
            "total_amount": Decimal("196.00"),
            "currency": "SAR",
            "status": "pending",  # under_review
            "payment_status": "pending",
            "fulfillment_status": "unfulfilled",
            "notes": None,
            "meta": {
                "platform_status": "under_review",
                "platform_status_name": "بإنتظار المراجعة",
                "payment_method": "bank",
                "merchant_id": "1305146709",
                "cash_on_delivery_fee": "0",
            },
            "created": "2022-06-26T09:21:45Z",  # 12:21:45 Asia/Riyadh
            "status_history": _history("salla", "pending", "pending", "unfulfilled"),
        },
    ),
    "salla order.status.updated": (
        "salla",
        "salla/order.status.updated.json",
        {
            "source": "salla",
            "external_id": "629263027",
            "external_number": "42264",
            "customer_name": "Test Salla",
            # Eight digits after +966 is not a Saudi number: kept as received.
            "customer_phone": "+96652318526",
            "customer_email": "Test.2022@salla.sa",
            "products": [
                {
                    "product_id": "2047473815",
                    "name": "سي كيه وان شوك من كالفن كلاين، فور هي، 100 مل",
                    "quantity": 1,
                    "price": Decimal("120.00"),
                    "total": Decimal("120.00"),
                },
                {
                    "product_id": "674027926",
                    "name": "عطر إترنتي مومنت من كالفن كلاين للنساء، او دي بارفان، 100 مل",
                    "quantity": 1,
                    "price": Decimal("126.00"),
                    "total": Decimal("126.00"),
                },
            ],
            "subtotal": Decimal("246.00"),
            "discount": Decimal("126.00"),
            "tax": Decimal("0.00"),
            "delivery_fee": Decimal("33.00"),
            "total_amount": Decimal("154.00"),
            "currency": "SAR",
            "status": "ready",  # completed
            "payment_status": "pending",
            "fulfillment_status": "unfulfilled",
            "notes": None,
            "meta": {
                "platform_status": "completed",
                "platform_status_name": "تم التنفيذ",
                "payment_method": "cod",
                "merchant_id": "193718979",
                "cash_on_delivery_fee": "1",
            },
            "created": "2022-08-17T17:59:36Z",
            "status_history": _history("salla", "ready", "pending", "unfulfilled"),
        },
    ),
    "shopify orders/create": (
        "shopify",
        "shopify/orders-create.json",
        {
            "source": "shopify",
            "external_id": "820982911946154500",  # every digit of the JSON number
            "external_number": "#9999",
            "customer_name": "John Smith",
            "customer_email": "jon@example.com",  # the order's own e-mail before the customer's
            "customer_phone": None,
            "products": [
                {
                    "product_id": "788032119674292900",
                    "name": "Aviator sunglasses",
                    "quantity": 1,
                    "price": Decimal("89.99"),
                    "total": Decimal("89.99"),
                },
                {
                    "product_id": "LENS-PROTECT-2YR",  # no product id: the SKU
                    "name": "Lens Protection Plan (2 Year)",
                    "quantity": 1,
                    "price": Decimal("19.99"),
                    "total": Decimal("19.99"),
                },
                {
                    "product_id": "CASE-LEATHER-PREM",
                    "name": "Premium Leather Case",
                    "quantity": 1,
                    "price": Decimal("24.99"),
                    "total": Decimal("24.99"),
                },
                {
                    "product_id": "788032119674292900",
                    "name": "Mid-century lounger",
                    "quantity": 1,
                    "price": Decimal("159.99"),
                    "total": Decimal("159.99"),
                },
                {
                    "product_id": "788032119674292900",
                    "name": "Coffee table",
                    "quantity": 1,
                    "price": Decimal("119.99"),
                    "total": Decimal("119.99"),
                },
            ],
            "subtotal": Decimal("414.95"),
            "discount": Decimal("20.00"),
            "tax": Decimal("0.00"),
            "delivery_fee": Decimal("10.00"),
            "total_amount": Decimal("404.95"),
            "currency": "USD",
            "status": "cancelled",  # cancelled_at is set
            "payment_status": "failed",  # voided
            "fulfillment_status": "unfulfilled",
            "notes": None,
            "meta": {
                "platform_status": "cancelled",
                "platform_payment_status": "voided",
                "cancel_reason": "customer",
                "payment_methods": ["visa", "bogus"],
                "order_number": "1234",
                "admin_graphql_api_id": "gid://shopify/Order/820982911946154508",
            },
            "created": "2022-01-01T00:00:00Z",  # 2021-12-31T19:00:00-05:00
            "status_history": _history("shopify", "cancelled", "failed", "unfulfilled"),
        },
    ),
    "woocommerce order.created": (
        "woocommerce",
        "woocommerce/order.created.json",
        {
            "source": "woocommerce",
            "external_id": "727",
            "external_number": "727",
            "customer_name": "John Doe",
            "customer_email": "john.doe@example.com",
            "customer_phone": "(555) 555-5555",  # 555 is no US area code: kept as received
            "products": [
                {
                    "product_id": "93",
                    "name": "Woo Single #1",
                    "quantity": 2,
                    "price": Decimal("3.00"),
                    "total": Decimal("6.00"),
                },
                {
                    "product_id": "22",
                    "name": "Ship Your Idea – Color: Black, Size: M Test",  # &ndash; decoded
                    "quantity": 1,
                    "price": Decimal("12.00"),
                    "total": Decimal("12.00"),
                },
            ],
            "subtotal": Decimal("18.00"),
            "discount": Decimal("0.00"),
            "tax": Decimal("1.35"),
            "delivery_fee": Decimal("10.00"),
            "total_amount": Decimal("29.35"),
            "currency": "USD",
            "status": "confirmed",  # processing
            "payment_status": "paid",  # processing with date_paid
            "fulfillment_status": "unfulfilled",
            "notes": None,
            "meta": {
                "platform_status": "processing",
                "payment_method": "bacs",
                "payment_method_title": "Direct Bank Transfer",
                "order_key": "wc_order_58d2d042d1d",
            },
            "created": "2017-03-22T19:28:02Z",  # date_created_gmt
            "status_history": _history("woocommerce", "confirmed", "paid", "unfulfilled"),
        },
    ),
    "zid order": (
        "zid",
        "zid/order.api-detail-response.json",
        {
            "source": "zid",
            "external_id": "39018491",
            "external_number": "zrDH30DWiX",
            "customer_name": "Test User 5",
            "customer_email": "testuser5@example.com",
            "customer_phone": "+966500000005",
            "products": [
                {
                    "product_id": "23edd6a6-3533-495d-8ffc-7f9e7c8c1f6a",
                    "name": "نسخة من TrialProduct",
                    "quantity": 1,
                    "price": Decimal("100.00"),
                    "total": Decimal("100.00"),
                }
            ],
            "subtotal": Decimal("100.00"),  # "100.00000000000000" rounded to SAR's 2 places
            "discount": Decimal("0.00"),
            "tax": Decimal("0.00"),
            "delivery_fee": Decimal("0.00"),
            "total_amount": Decimal("100.00"),
            "currency": "SAR",
            "status": "pending",  # new
            "payment_status": "pending",
            "fulfillment_status": "unfulfilled",
            "notes": None,
            "meta": {
                "platform_status": "new",
                "platform_status_name": "New",
                "platform_payment_status": "pending",
                "payment_method": "zid_bank_transfer",
                "store_id": "1",
            },
            "created": "2026-01-30T15:56:02Z",  # no zone named: UTC
            "status_history": _history("zid", "pending", "pending", "unfulfilled"),
        },
    ),
    "hungerstation order dispatch": (
        "hungerstation",
        "deliveryhero/order-dispatch.json",
        {
            "source": "hungerstation",
            "external_id": "5f373562-591a-4db9-8609-7eec7880f28d",  # the order token
            "external_number": "n0s1-w0k1",
            "customer_name": "food panda",
            "customer_email": "s188sduisddsnjknsj",  # odd, but the platform's: kept
            "customer_phone": "+49 99999999",  # does not parse: kept as received
            "products": [
                {
                    "product_id": "ID_FOR_DOUBLE_CHEESE_BURGER_ON_PLATFORM",
                    "name": "Double Cheese Burger",
                    "quantity": 1,  # the sample's quantity is the placeholder "string"
                    "price": Decimal("6.42"),
                    "total": Decimal("8.00"),
                }
            ],
            "subtotal": Decimal("8.00"),
            "discount": Decimal("9.00"),
            "tax": Decimal("2.50"),
            "delivery_fee": Decimal("2.50"),
            "total_amount": Decimal("25.50"),
            "currency": "EUR",  # from localInfo.countryCode DE
            "status": "pending",
            "payment_status": "paid",
            "fulfillment_status": "unfulfilled",
            "notes": "Please hurry, I am hungry",
            "meta": {
                "platform": "Foodpanda",
                "platform_key": "FP_DE",
                "platform_payment_status": "paid",
                "payment_type": "paid",
                "short_code": "42",
                "expedition_type": "pickup",
                "restaurant_id": "sq-abcd",
                "rider_tip": "1.20",
            },
            "created": "2016-03-14T17:00:00Z",
            "status_history": _history("hungerstation", "pending", "paid", "unfulfilled"),
        },
    ),
}


@pytest.mark.parametrize("case", list(EXPECTED))
def test_sample_becomes_the_expected_order(
    case: str, api: httpx.Client, connect: Connect, deliver: Deliver
) -> None:
    platform, fixture, expected = EXPECTED[case]
    connection = connect(platform)

    response = deliver(connection, fixture_bytes(fixture))

    assert response.status_code == 200, response.text
    assert response.json()["outcome"] == "created"
    [listed] = orders_of(api)
    order = exact(api.get(f"/api/v1/orders/{listed['id']}"))
    for entry in order["status_history"]:
        del entry["at"]
    for name in ("id", "organization_id", "updated"):
        del order[name]
    timeline = order.pop("timeline")
    assert [(e["type"], e["data"]["to"]) for e in timeline] == [
        ("status_changed", e["to"]) for e in expected["status_history"]
    ]
    assert order == {**expected, **_nothing_shipped_or_refunded(expected)}


def _nothing_shipped_or_refunded(expected: dict[str, Any]) -> dict[str, Any]:
    """What a new platform order without shipments or refunds shows besides its content."""
    return {
        "products": [
            {"line": i, **item, "fulfilled_quantity": 0, "returned_quantity": 0}
            for i, item in enumerate(expected["products"], start=1)
        ],
        "refunded_amount": Decimal(0),
        "net_amount": expected["total_amount"],
        "shipments": [],
        "refunds": [],
        "returns": [],
    }
