"""Shipments, refunds, returns and notes of an order, and the statuses, quantities, amounts
and timeline that follow from them."""

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import httpx
import pytest

from tests.conftest import MakeOrder
from tests.factories import exact, product

ORDERS = "/api/v1/orders"
THREE_LINES = {
    "products": [
        product(product_id="A", quantity=2, price=Decimal("10.00")),
        product(product_id="B", quantity=1, price=Decimal("15.00")),
        product(product_id="C", quantity=3, price=Decimal("5.00")),
    ],
    "tax": Decimal("0"),
    "delivery_fee": Decimal("0"),
    "total_amount": Decimal("50.00"),
}


@pytest.fixture
def three_lines(make_order: MakeOrder) -> Callable[..., dict[str, Any]]:
    """An order of 3 lines (2 × A at 10, 1 × B at 15, 3 × C at 5; 50.00 SAR)."""

    def make(**fields: Any) -> dict[str, Any]:
        return make_order(**{**THREE_LINES, **fields})

    return make


def ship(
    api: httpx.Client, order_id: str, *lines: tuple[int, int], **fields: Any
) -> httpx.Response:
    body = {"lines": [{"line": line, "quantity": n} for line, n in lines], **fields}
    return api.post(f"{ORDERS}/{order_id}/shipments", json=body)


def order(api: httpx.Client, order_id: str) -> dict[str, Any]:
    response = api.get(f"{ORDERS}/{order_id}")
    assert response.status_code == 200, response.text
    return dict(exact(response))


class TestShipments:
    def test_two_parcels_partial_then_fulfilled_then_delivered(
        self, api: httpx.Client, three_lines: Callable[..., dict[str, Any]]
    ) -> None:
        made = three_lines(status="confirmed", payment_status="paid")
        first = ship(api, made["id"], (1, 2), (2, 1), carrier="Aramex", tracking_number="AX123")
        assert first.status_code == 201, first.text
        parcel = first.json()
        assert parcel["carrier"] == "aramex"
        assert parcel["tracking_url"].endswith("ShipmentNumber=AX123")
        assert parcel["lines"] == [{"line": 1, "quantity": 2}, {"line": 2, "quantity": 1}]
        assert parcel["status"] == "shipped"
        now = order(api, made["id"])
        assert now["fulfillment_status"] == "partially_fulfilled"
        assert now["status"] == "confirmed"
        assert [p["fulfilled_quantity"] for p in now["products"]] == [2, 1, 0]
        assert [p["line"] for p in now["products"]] == [1, 2, 3]

        second = ship(
            api, made["id"], (3, 3), carrier="Own courier", tracking_url="https://t.example/9"
        )
        assert second.status_code == 201, second.text
        assert second.json()["carrier"] == "Own courier"
        now = order(api, made["id"])
        assert (now["fulfillment_status"], now["status"]) == ("fulfilled", "shipped")
        assert [s["id"] for s in now["shipments"]] == [parcel["id"], second.json()["id"]]

        for shipment in now["shipments"]:
            answer = api.patch(f"/api/v1/shipments/{shipment['id']}", json={"status": "delivered"})
            assert answer.status_code == 200, answer.text
            assert answer.json()["delivered_at"] is not None
        now = order(api, made["id"])
        assert now["status"] == "delivered"
        moves = [(h["field"], h["to"]) for h in now["status_history"]]
        assert ("fulfillment_status", "partially_fulfilled") in moves
        assert moves[-1] == ("status", "delivered")

    def test_a_tracking_number_finds_its_order(
        self, api: httpx.Client, three_lines: Callable[..., dict[str, Any]]
    ) -> None:
        made = three_lines()
        three_lines()
        assert ship(api, made["id"], (1, 1), tracking_number="SMSA-778812").status_code == 201
        found = api.get(ORDERS, params={"search": "smsa-778812"}).json()
        assert [o["id"] for o in found["data"]] == [made["id"]]
        # Replacing the order's content keeps the number searchable.
        body = {**THREE_LINES, "source": "manual", "currency": "SAR", "customer_name": "Renamed"}
        kept = api.put(f"{ORDERS}/{made['id']}", content=_json(body))
        assert kept.status_code == 200, kept.text
        found = api.get(ORDERS, params={"search": "778812"}).json()
        assert [o["id"] for o in found["data"]] == [made["id"]]

    @pytest.mark.parametrize(
        ("lines", "field", "message"),
        [
            ([(4, 1)], "lines[0].line", "Line 4 is not on the order (it has 3)"),
            ([(1, 3)], "lines[0].quantity", "Line 1 has 2 left to ship"),
            ([(1, 1), (1, 1)], "lines[1].line", "Line 1 is named twice"),
        ],
    )
    def test_refuses_lines_not_left(
        self,
        api: httpx.Client,
        three_lines: Callable[..., dict[str, Any]],
        lines: list[tuple[int, int]],
        field: str,
        message: str,
    ) -> None:
        made = three_lines()
        answer = ship(api, made["id"], *lines)
        assert answer.status_code == 422
        assert answer.json()["details"] == {field: message}
        assert order(api, made["id"])["shipments"] == []

    @pytest.mark.parametrize(
        ("body", "field"),
        [
            ({"lines": [{"line": 1, "quantity": 0}]}, "lines.0.quantity"),
            ({"lines": []}, "lines"),
            (
                {"lines": [{"line": 1, "quantity": 1}], "tracking_url": "javascript:alert(1)"},
                "tracking_url",
            ),
            (
                {"lines": [{"line": 1, "quantity": 1}], "tracking_url": "ftp://x.example/1"},
                "tracking_url",
            ),
            ({"lines": [{"line": "1", "quantity": 1}]}, "lines.0.line"),
        ],
    )
    def test_refuses_bad_bodies(
        self,
        api: httpx.Client,
        three_lines: Callable[..., dict[str, Any]],
        body: dict[str, Any],
        field: str,
    ) -> None:
        made = three_lines()
        answer = api.post(f"{ORDERS}/{made['id']}/shipments", json=body)
        assert answer.status_code == 422, answer.text
        assert field in answer.json()["details"]

    def test_refuses_a_cancelled_order(
        self, api: httpx.Client, three_lines: Callable[..., dict[str, Any]]
    ) -> None:
        made = three_lines(status="cancelled")
        answer = ship(api, made["id"], (1, 1))
        assert answer.status_code == 422
        assert "status" in answer.json()["details"]

    def test_cancelling_frees_the_units(
        self, api: httpx.Client, three_lines: Callable[..., dict[str, Any]]
    ) -> None:
        made = three_lines()
        parcel = ship(api, made["id"], (1, 2), tracking_number="N1").json()
        assert ship(api, made["id"], (1, 1)).status_code == 422
        cancelled = api.post(f"/api/v1/shipments/{parcel['id']}/cancel")
        assert cancelled.status_code == 200
        assert cancelled.json()["status"] == "cancelled"
        now = order(api, made["id"])
        assert now["fulfillment_status"] == "unfulfilled"
        assert now["products"][0]["fulfilled_quantity"] == 0
        assert api.get(ORDERS, params={"search": "N1"}).json()["data"] == []
        assert ship(api, made["id"], (1, 2)).status_code == 201
        refused = api.patch(f"/api/v1/shipments/{parcel['id']}", json={"status": "in_transit"})
        assert refused.status_code == 422

    def test_fulfillment_status_by_hand_is_refused_once_shipped(
        self, api: httpx.Client, three_lines: Callable[..., dict[str, Any]]
    ) -> None:
        bare = three_lines()
        hand = api.patch(f"{ORDERS}/{bare['id']}/status", json={"fulfillment_status": "fulfilled"})
        assert hand.status_code == 200  # no shipments: as before
        made = three_lines()
        ship(api, made["id"], (1, 1))
        refused = api.patch(
            f"{ORDERS}/{made['id']}/status", json={"fulfillment_status": "fulfilled"}
        )
        assert refused.status_code == 422
        assert refused.json()["error"] == "This status follows from the order's records"
        same = api.patch(
            f"{ORDERS}/{made['id']}/status", json={"fulfillment_status": "partially_fulfilled"}
        )
        assert same.status_code == 200
        bulk = api.patch(
            f"{ORDERS}/bulk/status",
            json={"updates": [{"id": made["id"], "fulfillment_status": "unfulfilled"}]},
        )
        assert bulk.json()["data"]["failed"] == 1

    def test_if_match_and_etag(
        self, api: httpx.Client, three_lines: Callable[..., dict[str, Any]]
    ) -> None:
        made = three_lines()
        tag = api.get(f"{ORDERS}/{made['id']}").headers["ETag"]
        stale = '"2001-01-01T00:00:00Z"'
        refused = api.post(
            f"{ORDERS}/{made['id']}/shipments",
            json={"lines": [{"line": 1, "quantity": 1}]},
            headers={"If-Match": stale},
        )
        assert refused.status_code == 412
        done = api.post(
            f"{ORDERS}/{made['id']}/shipments",
            json={"lines": [{"line": 1, "quantity": 1}]},
            headers={"If-Match": tag},
        )
        assert done.status_code == 201
        assert api.get(f"{ORDERS}/{made['id']}").headers["ETag"] != tag

    def test_unknown_shipment_and_other_organizations(
        self, api: httpx.Client, other_api: httpx.Client, three_lines: Callable[..., dict[str, Any]]
    ) -> None:
        made = three_lines()
        parcel = ship(api, made["id"], (1, 1)).json()
        assert (
            other_api.patch(
                f"/api/v1/shipments/{parcel['id']}", json={"status": "delivered"}
            ).status_code
            == 404
        )
        assert other_api.get(f"{ORDERS}/{made['id']}/shipments").status_code == 404
        assert (
            api.patch("/api/v1/shipments/shp_nothing", json={"status": "delivered"}).status_code
            == 404
        )
        listed = api.get(f"{ORDERS}/{made['id']}/shipments").json()
        assert listed["count"] == 1
        assert listed["data"][0]["id"] == parcel["id"]

    def test_racing_shipments_never_ship_more_than_ordered(
        self,
        api: httpx.Client,
        three_lines: Callable[..., dict[str, Any]],
        crowd: Callable[..., list[Any]],
    ) -> None:
        made = three_lines()
        path = f"{ORDERS}/{made['id']}/shipments"
        body = {"lines": [{"line": 3, "quantity": 1}]}
        codes = crowd(12, lambda client, _: client.post(path, json=body).status_code)
        assert sorted(codes) == [201] * 3 + [422] * 9
        now = order(api, made["id"])
        assert now["products"][2]["fulfilled_quantity"] == 3
        assert len(now["shipments"]) == 3


def _json(body: dict[str, Any]) -> bytes:
    from orderly.core.http import dump_json

    return dump_json(body)


class TestRefunds:
    def test_refund_one_line_then_the_rest(
        self, api: httpx.Client, three_lines: Callable[..., dict[str, Any]]
    ) -> None:
        made = three_lines(payment_status="paid")
        first = api.post(
            f"{ORDERS}/{made['id']}/refunds",
            json={"lines": [{"line": 1, "quantity": 2}], "reason": "Damaged"},
        )
        assert first.status_code == 201, first.text
        assert exact(first)["amount"] == Decimal("20.00")
        now = order(api, made["id"])
        assert now["payment_status"] == "partially_refunded"
        assert (now["refunded_amount"], now["net_amount"]) == (Decimal("20.00"), Decimal("30.00"))
        assert [r["id"] for r in now["refunds"]] == [first.json()["id"]]
        listed = api.get(ORDERS).json()["data"][0]
        assert (listed["refunded_amount"], listed["net_amount"]) == (20.0, 30.0)

        too_much = api.post(f"{ORDERS}/{made['id']}/refunds", content=b'{"amount": 30.01}')
        assert too_much.status_code == 422
        assert too_much.json()["details"] == {"amount": "At most 30.00 SAR is left to refund"}
        rest = api.post(f"{ORDERS}/{made['id']}/refunds", content=b'{"amount": 30.00}')
        assert rest.status_code == 201, rest.text
        now = order(api, made["id"])
        assert (now["payment_status"], now["net_amount"]) == ("refunded", Decimal("0.00"))
        more = api.post(f"{ORDERS}/{made['id']}/refunds", content=b'{"amount": 1}')
        assert more.status_code == 422

    @pytest.mark.parametrize(
        ("body", "field"),
        [
            (b'{"amount": 5, "currency": "USD"}', "currency"),
            (b'{"amount": 5.001}', "amount"),
            (b'{"amount": 0}', "amount"),
            (b"{}", "amount"),
            (b'{"amount": "5"}', "amount"),
            (b'{"lines": [{"line": 2, "quantity": 2}]}', "lines[0].quantity"),
            (b'{"lines": [{"line": 9, "quantity": 1}]}', "lines[0].line"),
        ],
    )
    def test_refuses(
        self, api: httpx.Client, three_lines: Callable[..., dict[str, Any]], body: bytes, field: str
    ) -> None:
        made = three_lines(payment_status="paid")
        answer = api.post(f"{ORDERS}/{made['id']}/refunds", content=body)
        assert answer.status_code == 422, answer.text
        assert field in answer.json()["details"]
        assert order(api, made["id"])["refunds"] == []

    def test_only_a_paid_order(
        self, api: httpx.Client, three_lines: Callable[..., dict[str, Any]]
    ) -> None:
        made = three_lines()
        answer = api.post(f"{ORDERS}/{made['id']}/refunds", content=b'{"amount": 5}')
        assert answer.status_code == 422
        assert "payment_status" in answer.json()["details"]

    def test_racing_refunds_never_exceed_what_was_paid(
        self,
        api: httpx.Client,
        three_lines: Callable[..., dict[str, Any]],
        crowd: Callable[..., list[Any]],
    ) -> None:
        made = three_lines(payment_status="paid")
        path = f"{ORDERS}/{made['id']}/refunds"
        codes = crowd(
            12, lambda client, _: client.post(path, content=b'{"amount": 12.50}').status_code
        )
        assert sorted(codes) == [201] * 4 + [422] * 8
        now = order(api, made["id"])
        assert (now["refunded_amount"], now["payment_status"]) == (Decimal("50.00"), "refunded")


class TestReturnsAndTimeline:
    def test_the_whole_story(
        self, api: httpx.Client, three_lines: Callable[..., dict[str, Any]]
    ) -> None:
        made = three_lines(status="confirmed", payment_status="paid")
        oid = made["id"]
        first = ship(api, oid, (1, 2), (2, 1), carrier="smsa", tracking_number="S1").json()
        # Nothing delivered yet: nothing can be returned.
        early = api.post(f"{ORDERS}/{oid}/returns", json={"lines": [{"line": 1, "quantity": 1}]})
        assert early.status_code == 422
        assert early.json()["details"] == {
            "lines[0].quantity": "Line 1 has 0 left to return (delivered)"
        }
        second = ship(api, oid, (3, 3), carrier="spl", tracking_number="P2").json()
        for parcel in (first, second):
            api.patch(f"/api/v1/shipments/{parcel['id']}", json={"status": "delivered"})
        refund = api.post(f"{ORDERS}/{oid}/refunds", json={"lines": [{"line": 2, "quantity": 1}]})
        assert exact(refund)["amount"] == Decimal("15.00")
        opened = api.post(
            f"{ORDERS}/{oid}/returns",
            json={"lines": [{"line": 1, "quantity": 2}], "reason": "Too big"},
        )
        assert opened.status_code == 201, opened.text
        assert opened.json()["status"] == "requested"
        again = api.post(f"{ORDERS}/{oid}/returns", json={"lines": [{"line": 1, "quantity": 1}]})
        assert again.status_code == 422
        received = api.post(
            f"/api/v1/returns/{opened.json()['id']}/receive", json={"refund": True, "restock": True}
        )
        assert received.status_code == 200, received.text
        assert received.json()["status"] == "received"
        assert received.json()["refund_id"]
        note = api.post(f"{ORDERS}/{oid}/notes", json={"text": "Customer called: keep the rest."})
        assert note.status_code == 201
        now = order(api, oid)
        assert now["refunded_amount"] == Decimal("35.00")
        assert now["payment_status"] == "partially_refunded"
        assert [p["returned_quantity"] for p in now["products"]] == [2, 0, 0]
        assert now["status"] == "delivered"
        assert now["fulfillment_status"] == "fulfilled"
        kinds = [entry["type"] for entry in now["timeline"]]
        for kind in (
            "status_changed",
            "shipment_created",
            "shipment_status",
            "refund_created",
            "return_requested",
            "return_received",
            "note_added",
        ):
            assert kind in kinds
        assert kinds[-1] == "note_added"
        times = [entry["at"] for entry in now["timeline"]]
        assert times == sorted(times, key=lambda t: t.removesuffix("Z").ljust(26, "0"))
        assert now["timeline"][-1]["actor"].startswith("token:")
        # Everything that was shipped comes back: the order is returned.
        rest = api.post(
            f"{ORDERS}/{oid}/returns",
            json={"lines": [{"line": 2, "quantity": 1}, {"line": 3, "quantity": 3}]},
        ).json()
        assert api.post(f"/api/v1/returns/{rest['id']}/receive").status_code == 200
        now = order(api, oid)
        assert (now["status"], now["fulfillment_status"]) == ("returned", "returned")
        audit = api.get("/api/v1/audit", params={"order_id": oid}).json()
        actions = {event["action"] for event in audit["data"]}
        assert {"shipment_created", "refund_created", "return_received", "note_added"} <= actions

    def test_notes_are_bounded_and_listed(
        self, api: httpx.Client, three_lines: Callable[..., dict[str, Any]]
    ) -> None:
        made = three_lines()
        path = f"{ORDERS}/{made['id']}/notes"
        assert api.post(path, json={"text": "x" * 5001}).status_code == 422
        assert api.post(path, json={"text": "   "}).status_code == 422
        assert api.post(path, json={"text": "x" * 5000}).status_code == 201
        assert api.post(path, json={"text": "second"}).status_code == 201
        listed = api.get(path).json()
        assert [len(n["text"]) for n in listed["data"]] == [5000, 6]
        assert order(api, made["id"])["notes"] is None  # the order's own notes stay as they were


class TestRetries:
    def test_a_repeated_key_makes_one_shipment_and_one_refund(
        self, api: httpx.Client, three_lines: Callable[..., dict[str, Any]]
    ) -> None:
        made = three_lines(payment_status="paid")
        path = f"{ORDERS}/{made['id']}"
        key = {"Idempotency-Key": "ship-once-1"}
        body = {"lines": [{"line": 1, "quantity": 1}], "tracking_number": "K1"}
        first = api.post(f"{path}/shipments", json=body, headers=key)
        again = api.post(f"{path}/shipments", json=body, headers=key)
        assert (first.status_code, again.status_code) == (201, 201)
        assert again.json()["id"] == first.json()["id"]
        refund_key = {"Idempotency-Key": "refund-once-1"}
        refunds = [
            api.post(f"{path}/refunds", content=b'{"amount": 5}', headers=refund_key)
            for _ in range(2)
        ]
        assert refunds[0].json()["id"] == refunds[1].json()["id"]
        now = order(api, made["id"])
        assert (len(now["shipments"]), len(now["refunds"])) == (1, 1)
        assert now["refunded_amount"] == Decimal("5.00")
