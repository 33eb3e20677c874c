"""ETag and If-Match: two clients editing the same order never silently lose a change."""

import threading

import httpx
import pytest

from tests.conftest import MakeOrder
from tests.factories import order_payload

ORDERS = "/api/v1/orders"


def _read(api: httpx.Client, order_id: str) -> tuple[dict[str, object], str]:
    response = api.get(f"{ORDERS}/{order_id}")
    assert response.status_code == 200
    return response.json(), response.headers["ETag"]


class TestETag:
    def test_every_order_answer_carries_the_etag_of_its_updated_time(
        self, api: httpx.Client
    ) -> None:
        created = api.post(ORDERS, content=order_payload())
        order = created.json()
        assert created.headers["ETag"] == f'"{order["updated"]}"'
        _, tag = _read(api, order["id"])
        assert tag == created.headers["ETag"]
        moved = api.patch(f"{ORDERS}/{order['id']}/status", json={"status": "confirmed"})
        assert moved.headers["ETag"] == f'"{moved.json()["updated"]}"' != tag
        replaced = api.put(f"{ORDERS}/{order['id']}", content=order_payload(customer_name="B"))
        assert replaced.headers["ETag"] == f'"{replaced.json()["updated"]}"'
        assert replaced.headers["ETag"] != moved.headers["ETag"]

    def test_if_none_match_answers_304_while_unchanged(
        self, api: httpx.Client, make_order: MakeOrder
    ) -> None:
        order = make_order()
        _, tag = _read(api, order["id"])
        unchanged = api.get(f"{ORDERS}/{order['id']}", headers={"If-None-Match": tag})
        assert unchanged.status_code == 304
        assert unchanged.headers["ETag"] == tag
        api.patch(f"{ORDERS}/{order['id']}/status", json={"status": "confirmed"})
        assert api.get(f"{ORDERS}/{order['id']}", headers={"If-None-Match": tag}).status_code == 200


class TestIfMatch:
    def test_two_puts_from_the_same_read_the_second_is_412(
        self, api: httpx.Client, make_order: MakeOrder
    ) -> None:
        order = make_order()
        _, tag = _read(api, order["id"])
        first = api.put(
            f"{ORDERS}/{order['id']}",
            content=order_payload(customer_name="First"),
            headers={"If-Match": tag},
        )
        assert first.status_code == 200
        second = api.put(
            f"{ORDERS}/{order['id']}",
            content=order_payload(customer_name="Second"),
            headers={"If-Match": tag},
        )
        assert second.status_code == 412
        body = second.json()
        assert body["code"] == 412
        assert body["details"] == {"if_match": f"The order's ETag is now {first.headers['ETag']}"}
        assert _read(api, order["id"])[0]["customer_name"] == "First"

    @pytest.mark.parametrize(
        ("method", "path", "body"),
        [
            ("PATCH", "/status", b'{"status": "confirmed"}'),
            ("DELETE", "", None),
        ],
    )
    def test_a_stale_tag_is_412_and_changes_nothing(
        self, api: httpx.Client, make_order: MakeOrder, method: str, path: str, body: bytes | None
    ) -> None:
        order = make_order()
        _, stale = _read(api, order["id"])
        api.patch(f"{ORDERS}/{order['id']}/status", json={"payment_status": "paid"})
        before, current = _read(api, order["id"])
        url = f"{ORDERS}/{order['id']}{path}"
        refused = api.request(method, url, content=body, headers={"If-Match": stale})
        assert refused.status_code == 412
        assert _read(api, order["id"])[0] == before
        accepted = api.request(method, url, content=body, headers={"If-Match": current})
        assert accepted.status_code in (200, 204)

    @pytest.mark.parametrize("header", ["*", '"x", {tag}', "{tag}"])
    def test_matching_forms_are_accepted(
        self, api: httpx.Client, make_order: MakeOrder, header: str
    ) -> None:
        order = make_order()
        _, tag = _read(api, order["id"])
        response = api.patch(
            f"{ORDERS}/{order['id']}/status",
            json={"status": "confirmed"},
            headers={"If-Match": header.format(tag=tag)},
        )
        assert response.status_code == 200

    def test_a_weak_tag_never_matches(self, api: httpx.Client, make_order: MakeOrder) -> None:
        order = make_order()
        _, tag = _read(api, order["id"])
        response = api.patch(
            f"{ORDERS}/{order['id']}/status",
            json={"status": "confirmed"},
            headers={"If-Match": f"W/{tag}"},
        )
        assert response.status_code == 412

    def test_racing_puts_with_one_tag_exactly_one_wins(
        self, api: httpx.Client, make_order: MakeOrder, base_url: str
    ) -> None:
        order = make_order()
        _, tag = _read(api, order["id"])
        statuses: list[int] = []
        barrier = threading.Barrier(8)

        def put(n: int) -> None:
            with httpx.Client(base_url=base_url, headers=dict(api.headers), timeout=30) as client:
                barrier.wait()
                response = client.put(
                    f"{ORDERS}/{order['id']}",
                    content=order_payload(customer_name=f"Client {n}"),
                    headers={"If-Match": tag},
                )
                statuses.append(response.status_code)

        threads = [threading.Thread(target=put, args=(n,)) for n in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(statuses) == [200] + [412] * 7


class TestBulkExpectedUpdated:
    def test_an_item_with_a_stale_updated_fails_alone(
        self, api: httpx.Client, make_order: MakeOrder
    ) -> None:
        fresh, stale = make_order(), make_order()
        stale_updated = stale["updated"]
        api.patch(f"{ORDERS}/{stale['id']}/status", json={"payment_status": "paid"})
        updates = [
            {"id": fresh["id"], "status": "confirmed", "updated": fresh["updated"]},
            {"id": stale["id"], "status": "confirmed", "updated": stale_updated},
        ]
        data = api.patch(f"{ORDERS}/bulk/status", json={"updates": updates}).json()["data"]
        assert (data["succeeded"], data["failed"]) == (1, 1)
        assert data["errors"][stale["id"]].startswith("The order has changed since it was read")
        assert _read(api, stale["id"])[0]["status"] == "pending"
