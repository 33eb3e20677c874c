"""PATCH /orders/{id}/status: every transition of the contract, allowed and refused, and history."""

import itertools

import httpx
import pytest

from orderly.orders.statuses import FulfillmentStatus, OrderStatus, PaymentStatus
from tests.conftest import MakeOrder

ORDERS = "/api/v1/orders"
FLOW = ["pending", "confirmed", "preparing", "ready", "shipped", "delivered"]

# The contract's rules written out by hand, independently of orderly.orders.statuses.
ORDER_ALLOWED = (
    {(a, b) for i, a in enumerate(FLOW) for b in FLOW[i + 1 :]}
    | {(a, "cancelled") for a in ["pending", "confirmed", "preparing", "ready"]}
    | {("delivered", "returned")}
)
PAYMENT_ALLOWED = {
    ("pending", "paid"),
    ("pending", "failed"),
    ("failed", "pending"),
    ("failed", "paid"),
    ("paid", "partially_refunded"),
    ("paid", "refunded"),
    ("partially_refunded", "refunded"),
}
ORDER_PAIRS = [(a, b) for a, b in itertools.product(OrderStatus, OrderStatus) if a != b]
PAYMENT_PAIRS = [(a, b) for a, b in itertools.product(PaymentStatus, PaymentStatus) if a != b]
FULFILLMENT_PAIRS = [
    (a, b) for a, b in itertools.product(FulfillmentStatus, FulfillmentStatus) if a != b
]


def patch(api: httpx.Client, order_id: str, **fields: str) -> httpx.Response:
    return api.patch(f"{ORDERS}/{order_id}/status", json=fields)


class TestOrderStatus:
    @pytest.mark.parametrize(("current", "new"), ORDER_PAIRS)
    def test_every_pair(
        self, api: httpx.Client, make_order: MakeOrder, current: str, new: str
    ) -> None:
        order = make_order(status=current)
        response = patch(api, order["id"], status=new)
        if (current, new) in ORDER_ALLOWED:
            assert response.status_code == 200, response.text
            assert response.json()["status"] == new
        else:
            assert response.status_code == 422, response.text
            assert response.json() == {
                "code": 422,
                "error": "Invalid status transition",
                "details": {"field": "status", "from": current, "to": new},
            }
            assert api.get(f"{ORDERS}/{order['id']}").json()["status"] == current


class TestPaymentStatus:
    @pytest.mark.parametrize(("current", "new"), PAYMENT_PAIRS)
    def test_every_pair(
        self, api: httpx.Client, make_order: MakeOrder, current: str, new: str
    ) -> None:
        order = make_order(payment_status=current)
        response = patch(api, order["id"], payment_status=new)
        expected = 200 if (current, new) in PAYMENT_ALLOWED else 422
        assert response.status_code == expected, response.text
        if expected == 422:
            assert response.json()["details"] == {
                "field": "payment_status",
                "from": current,
                "to": new,
            }

    def test_another_partial_refund_is_accepted(
        self, api: httpx.Client, make_order: MakeOrder
    ) -> None:
        order = make_order(payment_status="partially_refunded")
        assert patch(api, order["id"], payment_status="partially_refunded").status_code == 200


class TestFulfillmentStatus:
    @pytest.mark.parametrize(("current", "new"), FULFILLMENT_PAIRS)
    def test_may_move_between_any_values(
        self, api: httpx.Client, make_order: MakeOrder, current: str, new: str
    ) -> None:
        order = make_order(fulfillment_status=current)
        response = patch(api, order["id"], fulfillment_status=new)
        assert response.status_code == 200
        assert response.json()["fulfillment_status"] == new


class TestPatchBehaviour:
    def test_several_fields_at_once_are_all_or_nothing(
        self, api: httpx.Client, make_order: MakeOrder
    ) -> None:
        order = make_order(status="delivered", payment_status="pending")
        response = patch(api, order["id"], payment_status="paid", status="pending")
        assert response.status_code == 422
        assert api.get(f"{ORDERS}/{order['id']}").json()["payment_status"] == "pending"

        ok = patch(
            api,
            order["id"],
            status="returned",
            payment_status="paid",
            fulfillment_status="returned",
        )
        body = ok.json()
        assert (body["status"], body["payment_status"], body["fulfillment_status"]) == (
            "returned",
            "paid",
            "returned",
        )

    def test_setting_the_current_value_is_a_no_op(
        self, api: httpx.Client, make_order: MakeOrder
    ) -> None:
        order = make_order(status="cancelled")
        response = patch(api, order["id"], status="cancelled")
        assert response.status_code == 200
        assert response.json()["updated"] == order["updated"]
        assert len(response.json()["status_history"]) == 3

    def test_each_change_appends_history_oldest_first(
        self, api: httpx.Client, make_order: MakeOrder
    ) -> None:
        order = make_order()
        patch(api, order["id"], status="confirmed")
        patch(api, order["id"], status="shipped", payment_status="paid")
        history = api.get(f"{ORDERS}/{order['id']}").json()["status_history"]
        assert [(h["field"], h["from"], h["to"], h["source"]) for h in history[3:]] == [
            ("status", "pending", "confirmed", "api"),
            ("status", "confirmed", "shipped", "api"),
            ("payment_status", "pending", "paid", "api"),
        ]
        assert all(set(h) == {"field", "from", "to", "at", "source"} for h in history)
        assert [h["at"] for h in history] == sorted(h["at"] for h in history)

    def test_a_change_moves_updated(self, api: httpx.Client, make_order: MakeOrder) -> None:
        order = make_order()
        assert patch(api, order["id"], status="confirmed").json()["updated"] > order["updated"]

    @pytest.mark.parametrize(
        ("body", "field"),
        [
            ({}, "body"),
            ({"status": "lost"}, "status"),
            ({"colour": "red"}, "colour"),
            ({"status": None}, "body"),
            ({"status": 3}, "status"),
        ],
    )
    def test_bad_bodies_are_422(
        self, api: httpx.Client, make_order: MakeOrder, body: dict[str, object], field: str
    ) -> None:
        order = make_order()
        response = api.patch(f"{ORDERS}/{order['id']}/status", json=body)
        assert response.status_code == 422
        assert field in response.json()["details"]

    def test_unknown_order_is_404(self, api: httpx.Client) -> None:
        response = patch(api, "rmissing", status="confirmed")
        assert response.status_code == 404
        assert response.json()["details"] == {"id": "rmissing"}
