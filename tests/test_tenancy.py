"""Another organization's orders are 404 in every endpoint, bulk ones included."""

import httpx
import pytest

from tests.conftest import MakeOrder
from tests.factories import order_payload

ORDERS = "/api/v1/orders"


@pytest.fixture
def foreign_order(make_order: MakeOrder) -> dict[str, object]:
    """An order of acme, seen from globex."""
    return make_order(external_id="ACME-1", status="confirmed")


class TestTenancy:
    def test_list_and_search_show_only_own_orders(
        self, other_api: httpx.Client, foreign_order: dict[str, object]
    ) -> None:
        for params in ({}, {"search": "ahmed"}, {"status": "confirmed"}, {"source": "manual"}):
            body = other_api.get(ORDERS, params=params).json()
            assert (body["data"], body["total_count"]) == ([], 0)

    @pytest.mark.parametrize(
        ("method", "suffix", "body"),
        [
            ("GET", "", None),
            ("PUT", "", order_payload()),
            ("DELETE", "", None),
            ("PATCH", "/status", b'{"status": "shipped"}'),
        ],
    )
    def test_single_order_endpoints_answer_404(
        self,
        api: httpx.Client,
        other_api: httpx.Client,
        foreign_order: dict[str, object],
        method: str,
        suffix: str,
        body: bytes | None,
    ) -> None:
        response = other_api.request(
            method, f"{ORDERS}/{foreign_order['id']}{suffix}", content=body
        )
        assert response.status_code == 404
        assert response.json() == {
            "code": 404,
            "error": "Order not found",
            "details": {"id": foreign_order["id"]},
        }
        assert api.get(f"{ORDERS}/{foreign_order['id']}").json() == foreign_order

    def test_bulk_status_and_delete_treat_foreign_ids_as_missing(
        self, api: httpx.Client, other_api: httpx.Client, foreign_order: dict[str, object]
    ) -> None:
        order_id = str(foreign_order["id"])
        moved = other_api.patch(
            f"{ORDERS}/bulk/status", json={"updates": [{"id": order_id, "status": "shipped"}]}
        ).json()
        assert moved["data"]["errors"] == {order_id: "Order not found"}
        deleted = other_api.request("DELETE", f"{ORDERS}/bulk", json={"ids": [order_id]}).json()
        assert deleted["data"]["errors"] == {order_id: "Order not found"}
        assert api.get(f"{ORDERS}/{order_id}").json() == foreign_order

    def test_duplicate_check_is_per_organization(
        self, other_api: httpx.Client, foreign_order: dict[str, object]
    ) -> None:
        created = other_api.post(
            f"{ORDERS}/bulk", content=b"[" + order_payload(external_id="ACME-1") + b"]"
        )
        assert created.json()["data"]["succeeded"] == 1
