"""Every row of the contract's status tables, one new order each (written out here, not read
from the code, so that the tables are pinned)."""

from typing import Any

import httpx
import pytest

from tests.integrations.conftest import Connect, Deliver, orders_of
from tests.integrations.test_webhooks import edited, outcome

SALLA = [  # status.slug → (status, payment_status)
    ("payment_pending", "pending", "pending"),
    ("under_review", "pending", "pending"),
    ("in_progress", "preparing", "pending"),
    ("completed", "ready", "pending"),
    ("delivering", "shipped", "pending"),
    ("shipped", "shipped", "pending"),
    ("delivered", "delivered", "pending"),
    ("canceled", "cancelled", "pending"),
    ("restored", "returned", "pending"),
]
SHOPIFY = [  # (cancelled_at, fulfillment_status, financial_status) → (status, payment, fulfilment)
    ("2022-01-01T00:00:00Z", "fulfilled", "paid", "cancelled", "paid", "fulfilled"),
    (None, "fulfilled", "paid", "shipped", "paid", "fulfilled"),
    (None, "partial", "partially_paid", "pending", "pending", "partially_fulfilled"),
    (None, None, "pending", "pending", "pending", "unfulfilled"),
    (None, None, "authorized", "pending", "pending", "unfulfilled"),
    (None, None, "partially_refunded", "pending", "partially_refunded", "unfulfilled"),
    (None, None, "refunded", "pending", "refunded", "unfulfilled"),
    (None, None, "voided", "pending", "failed", "unfulfilled"),
]
WOOCOMMERCE = [  # (status, date_paid) → (status, payment_status)
    ("pending", None, "pending", "pending"),
    ("on-hold", None, "pending", "pending"),
    ("processing", "2017-03-22T19:28:08", "confirmed", "paid"),
    ("processing", None, "confirmed", "pending"),
    ("completed", "2017-03-22T19:28:08", "delivered", "paid"),
    ("cancelled", None, "cancelled", "pending"),
    ("refunded", "2017-03-22T19:28:08", "pending", "refunded"),
    ("failed", None, "pending", "failed"),
]
ZID = [  # (order_status.code, payment_status) → (status, payment_status)
    ("new", "pending", "pending", "pending"),
    ("preparing", "paid", "preparing", "paid"),
    ("ready", "paid", "ready", "paid"),
    ("indelivery", "paid", "shipped", "paid"),
    ("delivered", "paid", "delivered", "paid"),
    ("cancelled", "failed", "cancelled", "failed"),
    ("reversed", "refunded", "returned", "refunded"),
    ("refunded", "partially_refunded", "returned", "partially_refunded"),
]


def _order(api: httpx.Client, response: httpx.Response) -> dict[str, Any]:
    assert outcome(response) == "created"
    [order] = orders_of(api)
    return order


@pytest.mark.parametrize(("slug", "status", "payment"), SALLA)
def test_salla(
    slug: str, status: str, payment: str, api: httpx.Client, connect: Connect, deliver: Deliver
) -> None:
    def change(document: dict[str, Any]) -> None:
        document["data"]["status"]["slug"] = slug

    order = _order(api, deliver(connect("salla"), edited("salla/order.created.json", change)))

    assert (order["status"], order["payment_status"]) == (status, payment)
    assert order["meta"]["platform_status"] == slug


@pytest.mark.parametrize(
    ("cancelled_at", "fulfillment", "financial", "status", "payment", "fulfilled"), SHOPIFY
)
def test_shopify(
    cancelled_at: str | None,
    fulfillment: str | None,
    financial: str,
    status: str,
    payment: str,
    fulfilled: str,
    api: httpx.Client,
    connect: Connect,
    deliver: Deliver,
) -> None:
    def change(document: dict[str, Any]) -> None:
        document.update(
            cancelled_at=cancelled_at, fulfillment_status=fulfillment, financial_status=financial
        )

    order = _order(api, deliver(connect("shopify"), edited("shopify/orders-create.json", change)))

    assert (order["status"], order["payment_status"], order["fulfillment_status"]) == (
        status,
        payment,
        fulfilled,
    )


@pytest.mark.parametrize(("state", "date_paid", "status", "payment"), WOOCOMMERCE)
def test_woocommerce(
    state: str,
    date_paid: str | None,
    status: str,
    payment: str,
    api: httpx.Client,
    connect: Connect,
    deliver: Deliver,
) -> None:
    def change(document: dict[str, Any]) -> None:
        document.update(status=state, date_paid=date_paid, date_paid_gmt=date_paid)

    body = edited("woocommerce/order.created.json", change)
    order = _order(api, deliver(connect("woocommerce"), body))

    assert (order["status"], order["payment_status"]) == (status, payment)


@pytest.mark.parametrize(("code", "payment_state", "status", "payment"), ZID)
def test_zid(
    code: str,
    payment_state: str,
    status: str,
    payment: str,
    api: httpx.Client,
    connect: Connect,
    deliver: Deliver,
) -> None:
    def change(document: dict[str, Any]) -> None:
        document["order"]["order_status"]["code"] = code
        document["order"]["payment_status"] = payment_state

    body = edited("zid/order.api-detail-response.json", change)
    order = _order(api, deliver(connect("zid"), body))

    assert (order["status"], order["payment_status"]) == (status, payment)


@pytest.mark.parametrize(("state", "payment"), [("paid", "paid"), ("pending", "pending")])
def test_hungerstation(
    state: str, payment: str, api: httpx.Client, connect: Connect, deliver: Deliver
) -> None:
    def change(document: dict[str, Any]) -> None:
        document["payment"]["status"] = state

    body = edited("deliveryhero/order-dispatch.json", change)
    order = _order(api, deliver(connect("hungerstation"), body))

    assert (order["status"], order["payment_status"]) == ("pending", payment)
