"""GET /api/v1/audit: who created, changed, moved and deleted each order."""

from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session

from orderly.auth.models import ApiToken
from tests.conftest import MakeOrder
from tests.factories import order_payload
from tests.integrations.conftest import Connect, Deliver, connect, deliver, fixture_bytes

__all__ = ["connect", "deliver"]  # the fixtures, shared with the integration tests

AUDIT = "/api/v1/audit"
ORDERS = "/api/v1/orders"


def _events(api: httpx.Client, **params: Any) -> list[dict[str, Any]]:
    response = api.get(AUDIT, params=params)
    assert response.status_code == 200, response.text
    return list(response.json()["data"])


class TestTrail:
    def test_every_kind_of_change_is_recorded_with_its_token(
        self, api: httpx.Client, make_order: MakeOrder, db: Session
    ) -> None:
        order = make_order()
        api.put(f"{ORDERS}/{order['id']}", content=order_payload(customer_name="Changed"))
        api.patch(f"{ORDERS}/{order['id']}/status", json={"status": "confirmed"})
        api.patch(
            f"{ORDERS}/bulk/status", json={"updates": [{"id": order["id"], "status": "preparing"}]}
        )
        api.delete(f"{ORDERS}/{order['id']}")

        events = _events(api, order_id=order["id"])
        assert [e["action"] for e in reversed(events)] == [
            "created",
            "updated",
            "status_changed",
            "status_changed",
            "deleted",
        ]
        token_id = db.scalars(select(ApiToken.id)).one()
        assert {e["actor"] for e in events} == {f"token:{token_id}"}
        updated = next(e for e in events if e["action"] == "updated")
        assert "customer_name" in updated["details"]["fields"]
        moved = events[-3]
        assert moved["details"]["changes"] == [["status", "pending", "confirmed"]]

    def test_bulk_writes_are_recorded_per_order(self, api: httpx.Client) -> None:
        created = api.post(f"{ORDERS}/bulk", content=b"[" + b",".join([order_payload()] * 3) + b"]")
        ids = list(created.json()["data"]["ids"].values())
        api.request("DELETE", f"{ORDERS}/bulk", json={"ids": ids})
        events = _events(api, limit=100)
        assert sorted(e["order_id"] for e in events if e["action"] == "created") == sorted(ids)
        assert sorted(e["order_id"] for e in events if e["action"] == "deleted") == sorted(ids)

    def test_a_platforms_orders_name_their_connection(
        self, api: httpx.Client, connect: Connect, deliver: Deliver
    ) -> None:
        connection = connect("salla")
        deliver(connection, fixture_bytes("salla/order.created.json"))
        [event] = _events(api)
        assert (event["action"], event["actor"]) == ("created", f"connection:{connection['id']}")

    def test_a_failed_write_leaves_no_event(self, api: httpx.Client, make_order: MakeOrder) -> None:
        order = make_order()
        api.patch(f"{ORDERS}/{order['id']}/status", json={"status": "cancelled"})
        api.patch(f"{ORDERS}/{order['id']}/status", json={"status": "confirmed"})  # not allowed
        assert [e["action"] for e in _events(api)] == ["status_changed", "created"]

    def test_another_organization_sees_none_of_it(
        self, api: httpx.Client, other_api: httpx.Client, make_order: MakeOrder
    ) -> None:
        make_order()
        assert _events(other_api) == []

    def test_pages(self, api: httpx.Client) -> None:
        for _ in range(3):
            api.post(ORDERS, content=order_payload())
        first = api.get(AUDIT, params={"limit": 2}).json()
        second = api.get(AUDIT, params={"limit": 2, "page": 2}).json()
        assert (first["total_count"], first["has_next"], second["has_next"]) == (3, True, False)
        assert len({e["id"] for e in first["data"] + second["data"]}) == 3
