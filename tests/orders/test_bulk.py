"""Bulk create, bulk status and bulk delete: each item on its own, limits enforced."""

from decimal import Decimal
from typing import Any

import httpx
import pytest

from orderly.core.http import dump_json
from tests.conftest import MakeOrder
from tests.factories import order_fields

ORDERS = "/api/v1/orders"


def bulk_create(api: httpx.Client, items: list[Any]) -> httpx.Response:
    return api.post(f"{ORDERS}/bulk", content=dump_json(items))


def check_envelope(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["success"] is True
    assert body["timestamp"].endswith("Z")
    data: dict[str, Any] = body["data"]
    assert data["failed"] == len(data["errors"])
    return data


class TestBulkCreate:
    def test_creates_all_valid_items_and_lists_ids_by_index(self, api: httpx.Client) -> None:
        data = check_envelope(
            bulk_create(api, [order_fields(external_id=f"B{i}") for i in range(3)])
        )
        assert (data["succeeded"], data["failed"], data["errors"]) == (3, 0, {})
        assert set(data["ids"]) == {"0", "1", "2"}
        order = api.get(f"{ORDERS}/{data['ids']['1']}").json()
        assert order["external_id"] == "B1"
        assert [h["source"] for h in order["status_history"]] == ["bulk"] * 3

    def test_bad_items_fail_alone_keyed_by_index(self, api: httpx.Client) -> None:
        items = [
            order_fields(),
            order_fields(products=[]),
            order_fields(total_amount=Decimal("1.001")),
            "not an object",
            order_fields(customer_phone="12"),
            order_fields(),
        ]
        data = check_envelope(bulk_create(api, items))
        assert (data["succeeded"], data["failed"]) == (2, 4)
        assert set(data["ids"]) == {"0", "5"}
        assert "At least one product is required" in data["errors"]["1"]
        assert "total_amount" in data["errors"]["2"]
        assert set(data["errors"]) == {"1", "2", "3", "4"}
        assert api.get(ORDERS).json()["total_count"] == 2

    def test_duplicates_of_stored_orders_and_within_the_batch_fail(
        self, api: httpx.Client, make_order: MakeOrder
    ) -> None:
        existing = make_order(external_id="DUP")
        items = [
            order_fields(external_id="DUP"),
            order_fields(external_id="NEW"),
            order_fields(external_id="NEW"),
        ]
        data = check_envelope(bulk_create(api, items))
        assert data["succeeded"] == 1
        assert set(data["ids"]) == {"1"}
        assert existing["id"] in data["errors"]["0"]
        assert "item 1" in data["errors"]["2"]

    def test_a_thousand_items_are_accepted(self, api: httpx.Client) -> None:
        items = [order_fields(external_id=f"K{i}") for i in range(1000)]
        data = check_envelope(bulk_create(api, items))
        assert data["succeeded"] == 1000
        assert api.get(ORDERS).json()["total_count"] == 1000

    @pytest.mark.parametrize("size", [0, 1001])
    def test_none_or_more_than_a_thousand_is_422(self, api: httpx.Client, size: int) -> None:
        response = bulk_create(api, [order_fields()] * size)
        assert response.status_code == 422
        assert api.get(ORDERS).json()["total_count"] == 0

    def test_a_body_that_is_not_an_array_is_422(self, api: httpx.Client) -> None:
        assert api.post(f"{ORDERS}/bulk", json={"orders": []}).status_code == 422


class TestBulkStatus:
    def test_each_update_succeeds_or_fails_alone(
        self, api: httpx.Client, make_order: MakeOrder
    ) -> None:
        a, b, c = make_order(), make_order(status="delivered"), make_order()
        updates = [
            {"id": a["id"], "status": "delivered", "payment_status": "paid"},
            {"id": b["id"], "status": "pending"},
            {"id": "rdoesnotexist0000", "status": "confirmed"},
            {"id": c["id"], "status": "shipped", "payment_status": "refunded"},
        ]
        response = api.patch(f"{ORDERS}/bulk/status", json={"updates": updates})
        data = check_envelope(response)
        assert (data["succeeded"], data["failed"]) == (1, 3)
        assert "Invalid status transition" in data["errors"][b["id"]]
        assert data["errors"]["rdoesnotexist0000"] == "Order not found"
        assert "Invalid status transition" in data["errors"][c["id"]]
        # An item is atomic: c's allowed status change was not applied without its payment change.
        assert api.get(f"{ORDERS}/{c['id']}").json()["status"] == "pending"
        moved = api.get(f"{ORDERS}/{a['id']}").json()
        assert (moved["status"], moved["payment_status"]) == ("delivered", "paid")
        assert moved["status_history"][-1]["source"] == "bulk"

    def test_bad_items_are_reported_not_fatal(
        self, api: httpx.Client, make_order: MakeOrder
    ) -> None:
        a = make_order()
        updates: list[Any] = [
            {"id": a["id"], "status": "lost"},
            {"status": "confirmed"},
            7,
            {"id": a["id"], "status": "confirmed"},
        ]
        data = check_envelope(api.patch(f"{ORDERS}/bulk/status", json={"updates": updates}))
        assert data["succeeded"] == 1
        assert set(data["errors"]) == {a["id"], "1", "2"}

    @pytest.mark.parametrize("size", [0, 1001])
    def test_limits(self, api: httpx.Client, size: int) -> None:
        updates = [{"id": f"r{i}", "status": "confirmed"} for i in range(size)]
        assert api.patch(f"{ORDERS}/bulk/status", json={"updates": updates}).status_code == 422

    def test_wrong_shape_is_422(self, api: httpx.Client) -> None:
        assert api.patch(f"{ORDERS}/bulk/status", json=[{"id": "x"}]).status_code == 422
        assert api.patch(f"{ORDERS}/bulk/status", json={"updates": "x"}).status_code == 422


class TestBulkDelete:
    def test_deletes_found_orders_and_reports_the_rest(
        self, api: httpx.Client, make_order: MakeOrder
    ) -> None:
        a, b, keep = make_order(), make_order(), make_order()
        response = api.request(
            "DELETE", f"{ORDERS}/bulk", json={"ids": [a["id"], "rnothere", b["id"], a["id"]]}
        )
        data = check_envelope(response)
        assert (data["succeeded"], data["errors"]) == (2, {"rnothere": "Order not found"})
        assert [o["id"] for o in api.get(ORDERS).json()["data"]] == [keep["id"]]
        assert api.get(f"{ORDERS}/{a['id']}").status_code == 404

    @pytest.mark.parametrize("ids", [[], [f"r{i}" for i in range(1001)]])
    def test_limits(self, api: httpx.Client, ids: list[str]) -> None:
        assert api.request("DELETE", f"{ORDERS}/bulk", json={"ids": ids}).status_code == 422
