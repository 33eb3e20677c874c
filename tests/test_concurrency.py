"""Requests that arrive together: bursts are all answered, races never corrupt the counts
(webhooks: ``tests/integrations/test_webhooks.py``)."""

from collections.abc import Callable
from typing import Any, TypeVar

import httpx
from sqlalchemy import text
from sqlalchemy.orm import Session

from orderly.core.http import dump_json
from tests.conftest import MakeOrder
from tests.factories import order_fields, order_payload

ORDERS = "/api/v1/orders"
T = TypeVar("T")


def assert_counts_match_rows(db: Session) -> None:
    """The maintained counts say exactly what the rows say, per status combination and source."""
    db.rollback()  # a fresh snapshot
    counted = db.execute(
        text(
            "SELECT organization_id, status, payment_status, fulfillment_status, source, sum(n)"
            " FROM order_counts GROUP BY 1, 2, 3, 4, 5 HAVING sum(n) <> 0"
        )
    ).all()
    rows = db.execute(
        text(
            "SELECT organization_id, status, payment_status, fulfillment_status, source, count(*)"
            " FROM orders GROUP BY 1, 2, 3, 4, 5"
        )
    ).all()
    assert sorted(map(tuple, counted)) == sorted(map(tuple, rows))


def bulk_orders(api: httpx.Client, n: int) -> list[str]:
    body = [order_fields() for _ in range(n)]
    response = api.post(f"{ORDERS}/bulk", content=dump_json(body))
    assert response.status_code == 200, response.text
    ids = response.json()["data"]["ids"]
    return [ids[str(i)] for i in range(n)]


class TestCountsUnderRaces:
    def test_racing_deletes_of_one_order_delete_and_subtract_once(
        self, api: httpx.Client, make_order: MakeOrder, crowd: Callable[..., list[int]], db: Session
    ) -> None:
        for _ in range(4):
            order_id = make_order()["id"]
            path = f"{ORDERS}/{order_id}"
            codes = crowd(20, lambda c, _, path=path: c.delete(path).status_code)
            assert sorted(codes) == [204] + [404] * 19
        assert api.get(ORDERS).json()["total_count"] == 0
        assert_counts_match_rows(db)

    def test_racing_bulk_deletes_of_the_same_orders_delete_each_once(
        self, api: httpx.Client, crowd: Callable[..., list[dict[str, Any]]], db: Session
    ) -> None:
        for _ in range(3):
            ids = bulk_orders(api, 100)
            body = {"ids": ids}
            results = crowd(
                10, lambda c, _, body=body: c.request("DELETE", f"{ORDERS}/bulk", json=body).json()
            )
            assert sum(r["data"]["succeeded"] for r in results) == 100
            assert sum(r["data"]["failed"] for r in results) == 900
        assert api.get(ORDERS).json()["total_count"] == 0
        assert_counts_match_rows(db)

    def test_deletes_racing_status_changes_leave_the_counts_right(
        self, api: httpx.Client, crowd: Callable[..., list[int]], db: Session
    ) -> None:
        ids = bulk_orders(api, 40)

        def delete_or_confirm(client: httpx.Client, i: int) -> int:
            order_id = ids[i // 2]
            if i % 2:
                return client.delete(f"{ORDERS}/{order_id}").status_code
            return client.patch(
                f"{ORDERS}/{order_id}/status", json={"status": "confirmed"}
            ).status_code

        codes = crowd(80, delete_or_confirm)
        assert codes[1::2] == [204] * 40
        assert set(codes[0::2]) <= {200, 404}
        listed = api.get(ORDERS, params={"status": "pending,confirmed"}).json()
        assert listed["total_count"] == 0
        assert_counts_match_rows(db)

    def test_replacements_racing_deletes_and_status_changes_leave_the_counts_right(
        self, api: httpx.Client, crowd: Callable[..., list[int]], db: Session
    ) -> None:
        ids = bulk_orders(api, 30)
        replacement = order_payload(source="zid", status="confirmed", payment_status="paid")

        def replace_delete_or_ship(client: httpx.Client, i: int) -> int:
            path = f"{ORDERS}/{ids[i // 3]}"
            if i % 3 == 0:
                return client.put(path, content=replacement).status_code
            if i % 3 == 1:
                return client.patch(f"{path}/status", json={"status": "ready"}).status_code
            return client.delete(path).status_code if i % 2 else 204

        codes = crowd(90, replace_delete_or_ship)
        assert set(codes) <= {200, 204, 404, 422}  # 422: a move the order no longer allows
        assert_counts_match_rows(db)

    def test_bulk_status_racing_bulk_delete_leaves_the_counts_right(
        self, api: httpx.Client, crowd: Callable[..., list[int]], db: Session
    ) -> None:
        ids = bulk_orders(api, 200)
        updates = [{"id": i, "status": "confirmed", "payment_status": "paid"} for i in ids]

        def change_or_delete(client: httpx.Client, i: int) -> int:
            if i % 2:
                body = {"ids": ids[i * 10 : i * 10 + 40]}
                return client.request("DELETE", f"{ORDERS}/bulk", json=body).status_code
            return client.patch(f"{ORDERS}/bulk/status", json={"updates": updates}).status_code

        assert crowd(10, change_or_delete) == [200] * 10
        assert_counts_match_rows(db)
        remaining = api.get(ORDERS, params={"limit": 100}).json()["total_count"]
        exact = api.get(ORDERS, params={"created_from": "2000-01-01"}).json()["total_count"]
        assert remaining == exact


class TestBursts:
    def test_two_hundred_simultaneous_creates_are_all_created(
        self, api: httpx.Client, crowd: Callable[..., list[int]], db: Session
    ) -> None:
        codes = crowd(200, lambda c, _: c.post(ORDERS, content=order_payload()).status_code)
        assert codes == [201] * 200
        assert api.get(ORDERS).json()["total_count"] == 200
        assert_counts_match_rows(db)

    def test_two_hundred_simultaneous_status_changes_are_all_applied(
        self, api: httpx.Client, crowd: Callable[..., list[int]], db: Session
    ) -> None:
        ids = bulk_orders(api, 200)
        codes = crowd(
            200,
            lambda c, i: (
                c.patch(f"{ORDERS}/{ids[i]}/status", json={"status": "confirmed"}).status_code
            ),
        )
        assert codes == [200] * 200
        assert api.get(ORDERS, params={"status": "confirmed"}).json()["total_count"] == 200
        assert_counts_match_rows(db)

    def test_two_hundred_simultaneous_reads_are_all_answered(
        self, api: httpx.Client, make_order: MakeOrder, crowd: Callable[..., list[int]]
    ) -> None:
        order_id = make_order()["id"]
        codes = crowd(
            200, lambda c, i: c.get(f"{ORDERS}/{order_id}" if i % 2 else ORDERS).status_code
        )
        assert codes == [200] * 200
