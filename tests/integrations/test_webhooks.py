"""Nothing lost, nothing doubled: upserts, history, stale events, failures and replays."""

from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from orderly.core.config import get_settings
from orderly.core.http import dump_json, parse_json
from orderly.core.ratelimit import Rate
from orderly.integrations.models import Platform
from orderly.integrations.platforms import PLATFORMS
from orderly.integrations.platforms.base import PlatformOrder
from tests.conftest import Setting
from tests.integrations.conftest import (
    Connect,
    Deliver,
    deliveries_of,
    fixture_bytes,
    orders_of,
)


def edited(name: str, change: Callable[[Any], None]) -> bytes:
    """A published sample with ``change`` applied to its parsed JSON."""
    document = parse_json(fixture_bytes(name))
    change(document)
    return dump_json(document)


def salla_event(event: str, slug: str, at: str) -> bytes:
    def change(document: dict[str, Any]) -> None:
        document["event"] = event
        document["created_at"] = at
        document["data"]["status"]["slug"] = slug

    return edited("salla/order.created.json", change)


def detail(api: httpx.Client, order_id: str) -> dict[str, Any]:
    response = api.get(f"/api/v1/orders/{order_id}")
    assert response.status_code == 200, response.text
    return dict(response.json())


def outcome(response: httpx.Response) -> str:
    assert response.status_code == 200, response.text
    return str(response.json()["outcome"])


class TestUpsert:
    def test_redelivery_changes_nothing(
        self, api: httpx.Client, connect: Connect, deliver: Deliver
    ) -> None:
        connection = connect("salla")
        body = fixture_bytes("salla/order.created.json")
        assert outcome(deliver(connection, body)) == "created"
        [order] = orders_of(api)
        before = detail(api, order["id"])

        assert outcome(deliver(connection, body)) == "unchanged"

        assert detail(api, order["id"]) == before
        assert len(orders_of(api)) == 1

    def test_status_event_updates_the_order_and_appends_history(
        self, api: httpx.Client, connect: Connect, deliver: Deliver
    ) -> None:
        connection = connect("salla")
        deliver(connection, salla_event("order.created", "under_review", "2022-06-26T09:21:48Z"))
        [order] = orders_of(api)

        response = deliver(
            connection, salla_event("order.updated", "in_progress", "2022-06-26T10:00:00Z")
        )

        assert outcome(response) == "updated"
        updated = detail(api, order["id"])
        assert updated["status"] == "preparing"
        assert updated["meta"]["platform_status"] == "in_progress"
        assert updated["updated"] > order["updated"]
        last = updated["status_history"][-1]
        assert (last["field"], last["from"], last["to"], last["source"]) == (
            "status",
            "pending",
            "preparing",
            "salla",
        )
        assert len(orders_of(api)) == 1

    def test_platform_state_is_applied_even_against_our_transition_rules(
        self, api: httpx.Client, connect: Connect, deliver: Deliver
    ) -> None:
        connection = connect("salla")
        deliver(connection, salla_event("order.created", "delivered", "2022-06-26T09:00:00Z"))

        deliver(connection, salla_event("order.updated", "in_progress", "2022-06-26T10:00:00Z"))

        [order] = orders_of(api)
        assert order["status"] == "preparing"

    def test_older_event_does_not_move_the_order_back(
        self, api: httpx.Client, connect: Connect, deliver: Deliver
    ) -> None:
        connection = connect("woocommerce")
        assert outcome(deliver(connection, fixture_bytes("woocommerce/order.updated.json"))) == (
            "created"
        )
        [order] = orders_of(api)
        before = detail(api, order["id"])
        assert before["status"] == "delivered"

        late = deliver(connection, fixture_bytes("woocommerce/order.created.json"))

        assert outcome(late) == "stale"
        assert detail(api, order["id"]) == before

    def test_newer_event_moves_the_order_on(
        self, api: httpx.Client, connect: Connect, deliver: Deliver
    ) -> None:
        connection = connect("woocommerce")
        deliver(connection, fixture_bytes("woocommerce/order.created.json"))

        response = deliver(connection, fixture_bytes("woocommerce/order.updated.json"))

        assert outcome(response) == "updated"
        [order] = orders_of(api)
        history = detail(api, order["id"])["status_history"]
        assert [(h["field"], h["to"], h["source"]) for h in history] == [
            ("status", "confirmed", "woocommerce"),
            ("payment_status", "paid", "woocommerce"),
            ("fulfillment_status", "unfulfilled", "woocommerce"),
            ("status", "delivered", "woocommerce"),
        ]

    def test_unknown_platform_state_is_kept_in_meta_and_leaves_ours(
        self, api: httpx.Client, connect: Connect, deliver: Deliver
    ) -> None:
        connection = connect("woocommerce")
        deliver(connection, fixture_bytes("woocommerce/order.created.json"))

        def to_custom_state(document: dict[str, Any]) -> None:
            document["status"] = "awaiting-pickup"
            document["date_modified_gmt"] = "2017-03-23T10:00:00"

        response = deliver(connection, edited("woocommerce/order.created.json", to_custom_state))

        assert outcome(response) == "updated"
        [order] = orders_of(api)
        assert (order["status"], order["payment_status"]) == ("confirmed", "paid")
        assert order["meta"]["platform_status"] == "awaiting-pickup"

    def test_unknown_state_of_a_new_order_starts_pending(
        self, api: httpx.Client, connect: Connect, deliver: Deliver
    ) -> None:
        body = salla_event("order.created", "some_custom_status", "2022-06-26T09:00:00Z")

        assert outcome(deliver(connect("salla"), body)) == "created"

        [order] = orders_of(api)
        assert order["status"] == "pending"
        assert order["meta"]["platform_status"] == "some_custom_status"

    def test_content_changes_replace_line_items(
        self, api: httpx.Client, connect: Connect, deliver: Deliver
    ) -> None:
        connection = connect("shopify")
        deliver(connection, fixture_bytes("shopify/orders-create.json"))

        def drop_lines(document: dict[str, Any]) -> None:
            document["line_items"] = document["line_items"][:1]
            document["updated_at"] = "2022-01-02T00:00:00Z"

        response = deliver(connection, edited("shopify/orders-updated.json", drop_lines))

        assert outcome(response) == "updated"
        [order] = orders_of(api)
        assert [p["name"] for p in detail(api, order["id"])["products"]] == ["Aviator sunglasses"]

    def test_status_counts_follow_ingested_changes(
        self, api: httpx.Client, connect: Connect, deliver: Deliver
    ) -> None:
        connection = connect("woocommerce")
        deliver(connection, fixture_bytes("woocommerce/order.created.json"))
        deliver(connection, fixture_bytes("woocommerce/order.updated.json"))

        def total(**params: str) -> int:
            return int(api.get("/api/v1/orders", params=params).json()["total_count"])

        assert total(status="delivered") == 1
        assert total(status="confirmed") == 0
        assert total(source="woocommerce") == 1

    def test_api_created_order_with_the_same_external_id_is_updated_not_doubled(
        self, api: httpx.Client, connect: Connect, deliver: Deliver, make_order: Any
    ) -> None:
        made = make_order(source="woocommerce", external_id="727")

        response = deliver(connect("woocommerce"), fixture_bytes("woocommerce/order.created.json"))

        assert outcome(response) == "updated"
        assert [o["id"] for o in orders_of(api)] == [made["id"]]


class TestShopifyEventIds:
    def test_same_event_id_is_a_duplicate(
        self, api: httpx.Client, connect: Connect, deliver: Deliver
    ) -> None:
        connection = connect("shopify")
        body = fixture_bytes("shopify/orders-create.json")
        deliver(connection, body, **{"X-Shopify-Event-Id": "evt-1"})

        again = deliver(connection, body, **{"X-Shopify-Event-Id": "evt-1"})

        assert outcome(again) == "duplicate"
        assert len(orders_of(api)) == 1
        latest = deliveries_of(api, connection)[0]
        assert latest["outcome"] == "duplicate"
        assert latest["order_id"] is not None

    def test_other_topics_are_ignored(
        self, api: httpx.Client, connect: Connect, deliver: Deliver
    ) -> None:
        response = deliver(
            connect("shopify"),
            b'{"id": 788032119674292922}',
            **{"X-Shopify-Topic": "orders/delete"},
        )

        assert outcome(response) == "ignored"
        assert orders_of(api) == []


@pytest.fixture
def broken_shopify_mapping() -> Iterator[Callable[[], None]]:
    """Simulates a mapping bug in the running server; calling the result deploys the fix."""
    shopify = PLATFORMS[Platform.SHOPIFY]
    original = shopify.to_order

    def buggy(payload: Any, topic: str | None) -> PlatformOrder | None:
        raise KeyError("total_price_set")

    shopify.to_order = buggy  # type: ignore[method-assign]

    def fix() -> None:
        shopify.to_order = original  # type: ignore[method-assign]

    yield fix
    fix()


class TestFailuresAndReplay:
    def test_malformed_body_is_stored_as_failed_and_answered_2xx(
        self, api: httpx.Client, connect: Connect, deliver: Deliver
    ) -> None:
        connection = connect("shopify")

        response = deliver(connection, b'{"id": 1, "line_items": [')

        assert outcome(response) == "failed"
        [failed] = deliveries_of(api, connection, outcome="failed")
        assert "not JSON" in failed["error"]
        assert orders_of(api) == []

    def test_unmappable_order_is_failed_with_its_reason(
        self, api: httpx.Client, connect: Connect, deliver: Deliver
    ) -> None:
        def bad_currency(document: dict[str, Any]) -> None:
            document["currency"] = "XYZ"

        response = deliver(
            connect("woocommerce"), edited("woocommerce/order.created.json", bad_currency)
        )

        assert outcome(response) == "failed"
        assert orders_of(api) == []

    def test_replay_after_a_fix_creates_the_order_once(
        self,
        api: httpx.Client,
        connect: Connect,
        deliver: Deliver,
        broken_shopify_mapping: Callable[[], None],
    ) -> None:
        connection = connect("shopify")
        deliver(connection, fixture_bytes("shopify/orders-create.json"))
        [failed] = deliveries_of(api, connection, outcome="failed")
        assert "KeyError" in failed["error"]
        broken_shopify_mapping()
        replay_url = f"/api/v1/integrations/{connection['id']}/deliveries/{failed['id']}/replay"

        first = api.post(replay_url)
        second = api.post(replay_url)

        assert first.status_code == 200, first.text
        assert (first.json()["outcome"], first.json()["error"]) == ("created", None)
        assert (second.json()["outcome"], second.json()["attempts"]) == ("unchanged", 3)
        assert len(orders_of(api)) == 1
        assert deliveries_of(api, connection, outcome="failed") == []

    def test_unverified_delivery_cannot_be_replayed(
        self, api: httpx.Client, connect: Connect, deliver: Deliver
    ) -> None:
        connection = connect("shopify")
        deliver(connection, fixture_bytes("shopify/orders-create.json"), {})
        [refused] = deliveries_of(api, connection)

        response = api.post(
            f"/api/v1/integrations/{connection['id']}/deliveries/{refused['id']}/replay"
        )

        assert response.status_code == 409
        assert orders_of(api) == []


class TestDeliveries:
    def test_listed_newest_first_and_filtered_by_outcome(
        self, api: httpx.Client, connect: Connect, deliver: Deliver
    ) -> None:
        connection = connect("shopify")
        body = fixture_bytes("shopify/orders-create.json")
        deliver(connection, body)
        deliver(connection, b"not json")
        deliver(connection, body, {})

        everything = api.get(f"/api/v1/integrations/{connection['id']}/deliveries").json()

        assert [d["outcome"] for d in everything["data"]] == ["unverified", "failed", "created"]
        assert everything["total_count"] == 3
        assert [d["outcome"] for d in deliveries_of(api, connection, outcome="created")] == [
            "created"
        ]

    def test_paginated(self, api: httpx.Client, connect: Connect, deliver: Deliver) -> None:
        connection = connect("shopify")
        for _ in range(3):
            deliver(connection, b"{}", {})

        page = api.get(
            f"/api/v1/integrations/{connection['id']}/deliveries", params={"limit": 2, "page": 2}
        ).json()

        assert (page["count"], page["total_count"], page["has_next"]) == (1, 3, False)

    @pytest.mark.parametrize(
        "params", [{"outcome": "lost"}, {"limit": 0}, {"limit": 101}, {"page": 0}]
    )
    def test_bad_query_is_422(
        self, params: dict[str, Any], api: httpx.Client, connect: Connect
    ) -> None:
        connection = connect("zid")

        response = api.get(f"/api/v1/integrations/{connection['id']}/deliveries", params=params)

        assert response.status_code == 422
        assert response.json()["error"] == "Validation failed"

    def test_unknown_delivery_is_404(self, api: httpx.Client, connect: Connect) -> None:
        connection = connect("zid")
        base = f"/api/v1/integrations/{connection['id']}/deliveries/dlv_nothing"

        assert api.get(base).status_code == 404
        assert api.post(f"{base}/replay").status_code == 404


class TestPayloadShapes:
    def test_zid_order_object_alone_with_a_status_code(
        self, api: httpx.Client, connect: Connect, deliver: Deliver
    ) -> None:
        document = parse_json(fixture_bytes("zid/order.api-detail-response.json"))["order"]
        document["order_status"] = "indelivery"
        document["payment_status"] = "paid"

        assert outcome(deliver(connect("zid"), dump_json(document))) == "created"

        [order] = orders_of(api)
        assert (order["external_id"], order["status"], order["payment_status"]) == (
            "39018491",
            "shipped",
            "paid",
        )

    def test_zid_amounts_round_half_up_to_the_currency(
        self, api: httpx.Client, connect: Connect, deliver: Deliver
    ) -> None:
        def odd_total(document: dict[str, Any]) -> None:
            document["order"]["order_total"] = "223.56500086523000"

        deliver(connect("zid"), edited("zid/order.api-detail-response.json", odd_total))

        [order] = orders_of(api)
        assert api.get(f"/api/v1/orders/{order['id']}").text.count('"total_amount":223.57') == 1

    def test_order_without_lines_or_valid_contacts_is_taken_as_sent(
        self, api: httpx.Client, connect: Connect, deliver: Deliver
    ) -> None:
        def strip(document: dict[str, Any]) -> None:
            document["line_items"] = []
            document["billing"]["email"] = "not an address"
            document["billing"]["phone"] = "call me"

        response = deliver(connect("woocommerce"), edited("woocommerce/order.created.json", strip))

        assert outcome(response) == "created"
        [order] = orders_of(api)
        assert (order["customer_email"], order["customer_phone"]) == ("not an address", "call me")
        assert detail(api, order["id"])["products"] == []


class TestHostileInput:
    @pytest.mark.parametrize(
        "body",
        [
            b"\xff\xfe not utf-8",
            b"[" * 100_000 + b"]" * 100_000,
            b'{"id": "\\u0000"}',
            b"null",
            b"[]",
            b'{"id": 1, "line_items": "none", "total_price": "NaN", "currency": "USD"}',
        ],
    )
    def test_bad_bodies_are_kept_as_failed_never_500(
        self, body: bytes, api: httpx.Client, connect: Connect, deliver: Deliver
    ) -> None:
        connection = connect("shopify")

        response = deliver(connection, body)

        assert outcome(response) == "failed"
        assert orders_of(api) == []
        [kept] = deliveries_of(api, connection, outcome="failed")
        assert kept["error"]

    def test_oversized_ids_and_topics_are_kept_not_500(
        self, api: httpx.Client, connect: Connect, deliver: Deliver
    ) -> None:
        def long_id(document: dict[str, Any]) -> None:
            document["id"] = "9" * 1000

        connection = connect("shopify")
        response = deliver(
            connection,
            edited("shopify/orders-create.json", long_id),
            **{"X-Shopify-Topic": "orders/create" + "x" * 500, "X-Shopify-Event-Id": "e" * 600},
        )

        assert outcome(response) == "ignored"
        response = deliver(connection, edited("shopify/orders-create.json", long_id))
        assert outcome(response) == "failed"
        assert orders_of(api) == []


class TestConcurrency:
    def test_concurrent_webhooks_make_one_order_each(
        self, api: httpx.Client, connect: Connect, deliver: Deliver
    ) -> None:
        connection = connect("woocommerce")

        def body(n: int) -> bytes:
            def renumber(document: dict[str, object]) -> None:
                document["id"] = document["number"] = 1000 + n % 24  # each order sent four times

            return edited("woocommerce/order.created.json", renumber)

        with ThreadPoolExecutor(16) as pool:
            answers = list(pool.map(lambda n: deliver(connection, body(n)), range(96)))

        assert [a.status_code for a in answers] == [200] * 96
        outcomes = sorted(a.json()["outcome"] for a in answers)
        assert outcomes.count("created") == 24
        assert set(outcomes) == {"created", "unchanged"}
        assert len(orders_of(api)) == 24


class TestUnverifiedFlood:
    """Anyone who knows a webhook URL can send to it: what they send costs little to keep."""

    def test_an_unverified_delivery_keeps_at_most_1_kib_of_its_body(
        self, api: httpx.Client, connect: Connect, deliver: Deliver
    ) -> None:
        connection = connect("salla")
        response = deliver(connection, b"x" * 1_000_000, {"X-Salla-Signature": "forged"})
        assert response.status_code == 401
        [kept] = deliveries_of(api, connection)
        detail = api.get(f"/api/v1/integrations/{connection['id']}/deliveries/{kept['id']}").json()
        assert len(detail["body"]) == 1024
        assert "first 1,024 of 1,000,000 bytes" in detail["error"]

    def test_past_the_limit_unverified_deliveries_are_429_and_not_kept(
        self, api: httpx.Client, connect: Connect, deliver: Deliver, setting: Setting
    ) -> None:
        # A bucket that refills one token in 2.4 hours: however slow the machine, none comes
        # back while the test sends (60/minute refilled one in a second on a loaded machine).
        setting("ORDERLY_UNVERIFIED_WEBHOOK_LIMIT", "10/day")
        connection = connect("salla")
        limit = Rate.parse(get_settings().unverified_webhook_limit).count
        assert limit == 10
        forged = {"X-Salla-Signature": "forged"}
        statuses = [deliver(connection, b"{}", forged).status_code for _ in range(limit + 3)]
        assert statuses == [401] * limit + [429] * 3
        assert len(deliveries_of(api, connection, limit=100)) == limit
        # A signed delivery still gets through while forged ones are refused.
        signed = deliver(connection, fixture_bytes("salla/order.created.json"))
        assert outcome(signed) == "created"

    def test_a_body_over_the_platforms_limit_is_413(
        self, api: httpx.Client, connect: Connect, deliver: Deliver
    ) -> None:
        connection = connect("salla")
        response = deliver(connection, b" " * (2 * 1024 * 1024 + 1))
        assert response.status_code == 413
        assert response.json()["details"] == {"body": f"At most {2 * 1024 * 1024} bytes"}
        assert deliveries_of(api, connection) == []
