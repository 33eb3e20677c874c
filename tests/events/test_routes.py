"""The events feed: one event per committed change, none for a failed one, in commit order,
followed by a cursor that never misses one (both engines)."""

import threading
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from sqlalchemy.orm import Session

from orderly.auth import service as auth
from orderly.core.db import session_factory
from orderly.core.http import dump_json
from orderly.orders import service as orders
from orderly.orders.schemas import NoteCreate, OrderCreate, StatusUpdate
from tests.conftest import MakeOrder
from tests.factories import order_fields, order_payload
from tests.integrations.conftest import SECRET, fixture_bytes, sign

EVENTS = "/api/v1/events"
ORDERS = "/api/v1/orders"


def feed(api: httpx.Client, **params: Any) -> dict[str, Any]:
    response = api.get(EVENTS, params=params)
    assert response.status_code == 200, response.text
    return dict(response.json())


def every_event(api: httpx.Client, **params: Any) -> list[dict[str, Any]]:
    found, after = [], 0
    while True:
        page = feed(api, after=after, limit=1000, **params)
        found += page["data"]
        after = int(page["meta"]["next_cursor"])
        if not page["has_next"]:
            return found


class TestOneEventPerChange:
    def test_each_kind_of_change_records_its_event_with_the_order_after_it(
        self, api: httpx.Client, make_order: MakeOrder
    ) -> None:
        order = make_order()
        order_id = order["id"]
        assert api.patch(f"{ORDERS}/{order_id}/status", json={"status": "confirmed"}).is_success
        put = api.put(f"{ORDERS}/{order_id}", content=order_payload(customer_name="Sara Ali"))
        assert put.is_success, put.text
        note = api.post(f"{ORDERS}/{order_id}/notes", json={"text": "Call before delivery"})
        assert note.status_code == 201, note.text
        shipped = api.post(
            f"{ORDERS}/{order_id}/shipments",
            json={"carrier": "aramex", "lines": [{"line": 1, "quantity": 1}]},
        )
        assert shipped.status_code == 201, shipped.text
        assert api.delete(f"{ORDERS}/{order_id}").status_code == 204

        events = every_event(api)
        assert [e["type"] for e in events] == [
            "order.created",
            "order.status_changed",
            "order.updated",
            "order.note_added",
            "order.shipment_created",
            "order.deleted",
        ]
        sequences = [e["sequence"] for e in events]
        assert sequences == sorted(sequences)
        assert len(set(sequences)) == len(sequences)
        created, moved, updated = events[0], events[1], events[2]
        assert created["data"]["order"] == order  # the same document as the create's answer
        assert moved["data"]["order"]["status"] == "confirmed"
        assert moved["data"]["details"]["changes"] == [["status", "pending", "confirmed"]]
        assert updated["data"]["order"]["customer_name"] == "Sara Ali"
        assert events[4]["data"]["order"]["shipments"][0]["carrier"] == "aramex"
        assert events[-1]["data"]["order"] == {"id": order_id}
        assert all(e["order_id"] == order_id and e["actor"].startswith("token:") for e in events)
        assert all(e["id"].startswith("evt_") for e in events)

    def test_the_event_and_the_audit_row_are_one_record_of_the_change(
        self, api: httpx.Client, make_order: MakeOrder
    ) -> None:
        make_order()
        audit = api.get("/api/v1/audit").json()["data"]
        events = every_event(api)
        assert [e["id"].removeprefix("evt_") for e in events] == [
            a["id"].removeprefix("aud_") for a in reversed(audit)
        ]

    def test_a_change_that_fails_records_nothing(
        self, api: httpx.Client, make_order: MakeOrder
    ) -> None:
        order = make_order(external_id="shop-1", source="salla")
        cancelled = api.patch(f"{ORDERS}/{order['id']}/status", json={"status": "cancelled"})
        assert cancelled.status_code == 200
        before = every_event(api)
        backwards = api.patch(f"{ORDERS}/{order['id']}/status", json={"status": "confirmed"})
        assert backwards.status_code == 422
        again = api.post(ORDERS, content=order_payload(external_id="shop-1", source="salla"))
        assert again.status_code == 409
        stale = api.patch(
            f"{ORDERS}/{order['id']}/status",
            json={"status": "cancelled"},
            headers={"If-Match": '"stale"'},
        )
        assert stale.status_code == 412
        assert every_event(api) == before

    def test_a_bulk_create_records_one_event_per_order_created(self, api: httpx.Client) -> None:
        items = [order_fields(external_id=f"b{i}", source="zid") for i in range(50)]
        items.append(order_fields(external_id="b1", source="zid"))  # a repeat: not created
        response = api.post(f"{ORDERS}/bulk", content=dump_json(items))
        assert response.status_code == 200, response.text
        ids = set(response.json()["data"]["ids"].values())
        events = every_event(api)
        assert [e["type"] for e in events] == ["order.created"] * 50
        assert {e["order_id"] for e in events} == ids
        # Documents made from the inserted rows, as a read back would show them.
        for event in events[:10]:
            shown = api.get(f"{ORDERS}/{event['order_id']}").json()
            assert event["data"]["order"] == shown

    def test_a_platform_s_new_order_carries_the_order_as_stored(self, api: httpx.Client) -> None:
        connection = api.post(
            "/api/v1/integrations",
            json={"platform": "woocommerce", "name": "Riyadh", "secret": SECRET},
        ).json()
        body = fixture_bytes("woocommerce/order.created.json")
        sent = httpx.post(
            connection["webhook_url"], content=body, headers=sign("woocommerce", body)
        ).json()
        assert sent["outcome"] == "created", sent
        (event,) = every_event(api)
        assert event["actor"] == f"connection:{connection['id']}"
        assert event["data"]["order"] == api.get(f"{ORDERS}/{event['order_id']}").json()

    def test_another_organization_sees_none_of_them(
        self, api: httpx.Client, other_api: httpx.Client, make_order: MakeOrder
    ) -> None:
        make_order()
        assert every_event(api)
        assert every_event(other_api) == []


class TestFeed:
    def test_the_cursor_continues_after_the_last_event_given(
        self, api: httpx.Client, make_order: MakeOrder
    ) -> None:
        for _ in range(5):
            make_order()
        first = feed(api, limit=2)
        assert first["count"] == 2
        assert first["has_next"] is True
        rest = feed(api, after=first["meta"]["next_cursor"], limit=10)
        assert rest["count"] == 3
        assert rest["has_next"] is False
        idle = feed(api, after=rest["meta"]["next_cursor"])
        assert idle["data"] == []
        assert idle["meta"]["next_cursor"] == rest["meta"]["next_cursor"]

    def test_filters_by_type_and_order(self, api: httpx.Client, make_order: MakeOrder) -> None:
        one, two = make_order(), make_order()
        api.patch(f"{ORDERS}/{one['id']}/status", json={"status": "confirmed"})
        moved = every_event(api, type="order.status_changed")
        assert [e["order_id"] for e in moved] == [one["id"]]
        of_two = every_event(api, order_id=two["id"])
        assert [e["type"] for e in of_two] == ["order.created"]
        both = every_event(api, type="order.created,order.status_changed")
        assert len(both) == 3

    @pytest.mark.parametrize(
        "params",
        [{"type": "order.exploded"}, {"after": "-1"}, {"after": "x"}, {"limit": "0"}],
    )
    def test_refuses_what_it_cannot_follow_with_the_envelope(
        self, api: httpx.Client, params: dict[str, str]
    ) -> None:
        response = api.get(EVENTS, params=params)
        assert response.status_code == 422
        assert set(response.json()) == {"code", "error", "details"}

    def test_needs_a_token(self, anonymous: httpx.Client) -> None:
        assert anonymous.get(EVENTS).status_code == 401


class TestCommitOrder:
    def test_a_follower_sees_every_event_of_concurrent_writers_once_and_in_order(
        self, api: httpx.Client, crowd: Callable[..., list[Any]]
    ) -> None:
        seen: list[dict[str, Any]] = []
        done = threading.Event()

        def follow() -> None:
            after = 0
            while True:
                finished = done.is_set()  # read before the page: a last page after the end
                page = feed(api, after=after, limit=1000)
                seen.extend(page["data"])
                after = int(page["meta"]["next_cursor"])
                if finished and not page["has_next"]:
                    return
                time.sleep(0.005)

        follower = threading.Thread(target=follow)
        follower.start()

        def write(client: httpx.Client, i: int) -> int:
            made = 0
            for _ in range(4):
                created = client.post(ORDERS, content=order_payload(customer_name=f"w{i}"))
                assert created.status_code == 201, created.text
                order_id = created.json()["id"]
                made += 1
                for status in ("confirmed", "preparing"):
                    moved = client.patch(f"{ORDERS}/{order_id}/status", json={"status": status})
                    assert moved.status_code == 200, moved.text
                    made += 1
            return made

        try:
            written = sum(crowd(12, write))
        finally:
            done.set()
            follower.join(timeout=120)
        assert not follower.is_alive()

        ids = [e["id"] for e in seen]
        assert len(ids) == len(set(ids)) == written  # each once, none missed
        sequences = [e["sequence"] for e in seen]
        assert sequences == sorted(sequences)
        assert seen == every_event(api)  # what was followed is what is kept
        by_order: dict[str, list[str]] = {}
        for e in seen:
            by_order.setdefault(e["order_id"], []).append(e["data"]["order"]["status"])
        assert all(
            statuses == ["pending", "confirmed", "preparing"] for statuses in by_order.values()
        )

    def test_a_transaction_that_began_first_and_committed_last_is_not_missed(
        self, database_url: str, db: Session, api: httpx.Client, make_order: MakeOrder
    ) -> None:
        if database_url.startswith("sqlite"):
            pytest.skip("SQLite's writers run one at a time: none can commit in between")
        first_order, second_order = make_order()["id"], make_order()["id"]
        seen = feed(api)["meta"]["next_cursor"]
        organization = auth.get_or_create_organization(db, "acme")
        db.commit()
        # Notes: changes that share no row (a status change would share a maintained count).
        writers = session_factory(database_url, write=True)
        with writers() as slow, writers() as fast:  # closed (rolled back) if a check fails
            orders.add_note(slow, organization, first_order, NoteCreate(text="began first"))
            slow.flush()  # written, not committed
            orders.add_note(fast, organization, second_order, NoteCreate(text="began second"))
            fast.commit()
            first = feed(api, after=seen)
            assert [e["order_id"] for e in first["data"]] == [second_order]
            slow.commit()
        rest = feed(api, after=first["meta"]["next_cursor"])
        assert [e["order_id"] for e in rest["data"]] == [first_order]
        assert rest["data"][0]["sequence"] > first["data"][0]["sequence"]

    def test_a_change_undone_by_its_savepoint_takes_its_event_with_it(
        self, database_url: str, db: Session, api: httpx.Client
    ) -> None:
        organization = auth.get_or_create_organization(db, "acme")
        db.commit()
        with session_factory(database_url, write=True)() as session:
            kept = orders.create_order(session, organization, OrderCreate(**order_fields()))
            try:
                with session.begin_nested():
                    undone = orders.create_order(
                        session, organization, OrderCreate(**order_fields())
                    )
                    orders.change_status(
                        session, organization, undone, StatusUpdate(status="confirmed")
                    )
                    raise RuntimeError("undo")
            except RuntimeError:
                pass
            session.commit()
        assert [e["order_id"] for e in every_event(api)] == [kept]
