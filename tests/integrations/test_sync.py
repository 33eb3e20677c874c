"""The reconciliation poll, backfills and push back, against each platform's API as a local
server (``tests.support.platforms``) and the real service."""

import json
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.integrations.conftest import Connect, Deliver
from tests.support.platforms import PlatformServer, credentials, platform_server

PLATFORMS = ["shopify", "woocommerce", "salla", "zid"]


@pytest.fixture(params=PLATFORMS)
def platform(request: pytest.FixtureRequest) -> Iterator[PlatformServer]:
    with platform_server(request.param) as server:
        yield server


@pytest.fixture
def shopify() -> Iterator[PlatformServer]:
    with platform_server("shopify") as server:
        yield server


def wait_until(check: Callable[[], Any], timeout: float = 60, what: str = "") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError(f"Timed out waiting for {what or check}")


def set_credentials(api: httpx.Client, connection: dict[str, Any], body: dict[str, Any]) -> Any:
    response = api.put(f"/api/v1/integrations/{connection['id']}/credentials", json=body)
    assert response.status_code == 200, response.text
    return response.json()


def sync_state(api: httpx.Client, connection: dict[str, Any]) -> dict[str, Any]:
    response = api.get(f"/api/v1/integrations/{connection['id']}/sync")
    assert response.status_code == 200, response.text
    return dict(response.json())


def idle(api: httpx.Client, connection: dict[str, Any]) -> dict[str, Any]:
    """The sync state once no backfill is under way and the first poll has run."""

    def settled() -> dict[str, Any] | None:
        state = sync_state(api, connection)
        runs = state["runs"]
        done = state["backfill"] is None and runs and all(r["finished"] for r in runs)
        return state if done else None

    return dict(wait_until(settled, what="the sync to settle"))


def sync_now(api: httpx.Client, connection: dict[str, Any]) -> dict[str, Any]:
    response = api.post(f"/api/v1/integrations/{connection['id']}/sync", timeout=120)
    assert response.status_code == 200, response.text
    return dict(response.json())


def count_orders(api: httpx.Client, source: str) -> int:
    response = api.get("/api/v1/orders", params={"source": source, "limit": 1})
    assert response.status_code == 200, response.text
    return int(response.json()["total_count"])


def order_by_external_id(api: httpx.Client, source: str, external_id: str) -> dict[str, Any]:
    params: dict[str, Any] = {"source": source, "search": external_id, "limit": 100}
    response = api.get("/api/v1/orders", params=params)
    assert response.status_code == 200, response.text
    found = [o for o in response.json()["data"] if o["external_id"] == external_id]
    assert len(found) == 1, found
    return dict(found[0])


PUSHED_CANCEL = {
    "shopify": ("POST", "/cancel.json"),
    "woocommerce": ("PUT", "/wp-json/wc/v3/orders/"),
    "salla": ("POST", "/status"),
    "zid": ("POST", "/change-order-status"),
}


class TestBackfillAndPush:
    def test_backfills_two_years_across_pages_through_a_429_and_a_500_and_pushes_back(
        self, api: httpx.Client, connect: Connect, platform: PlatformServer
    ) -> None:
        platform.add_orders(2000, history=True)
        # The third and fifth calls fail once each; the walk waits and goes on.
        platform.faults = ["", "", "429", "", "500"]
        connection = connect(platform.platform)
        set_credentials(api, connection, credentials(platform, push_back=True))
        since = (datetime.now(UTC) - timedelta(days=731)).isoformat()
        response = api.post(
            f"/api/v1/integrations/{connection['id']}/backfill", json={"since": since}
        )
        assert response.status_code == 202, response.text
        state = idle(api, connection)

        assert count_orders(api, platform.platform) == 2000
        assert all(run["error"] is None for run in state["runs"]), state["runs"]
        backfill = next(run for run in state["runs"] if run["kind"] == "backfill")
        assert backfill["seen"] >= 2000
        assert backfill["failed"] == 0
        assert len(platform.log) >= 2000 // 250 + 2  # pages of at most 250, and two retries
        assert platform.faults == []  # both faults were answered, and retried

        # A change made in Orderly reaches the platform, in its documented request.
        order = platform.orders[1776]
        external_id = platform.external_id(order)
        ours = order_by_external_id(api, platform.platform, external_id)
        response = api.patch(f"/api/v1/orders/{ours['id']}/status", json={"status": "cancelled"})
        assert response.status_code == 200, response.text
        method, fragment = PUSHED_CANCEL[platform.platform]
        pushed = wait_until(
            lambda: [r for r in platform.requests_to(method, fragment) if external_id in r.path],
            what="the push",
        )
        assert len(pushed) == 1
        request = pushed[0]
        if platform.platform == "woocommerce":
            assert request.path == f"/wp-json/wc/v3/orders/{external_id}"
            assert request.json == {"status": "cancelled"}
        elif platform.platform == "salla":
            assert request.path == f"/admin/v2/orders/{external_id}/status"
            assert request.json == {"slug": "canceled"}
        elif platform.platform == "zid":
            assert request.path == f"/v1/managers/store/orders/{external_id}/change-order-status"
            assert request.form == {"order_status": "cancelled"}
        else:
            assert request.path == f"/admin/api/2024-01/orders/{external_id}/cancel.json"
        # Recorded once the platform's answer is in, a moment after the request reached it.
        pushes = wait_until(
            lambda: [
                p
                for p in api.get(f"/api/v1/integrations/{connection['id']}/pushes").json()["data"]
                if p["state"] != "pending"
            ],
            what="the push's record",
        )
        assert [(p["action"], p["state"]) for p in pushes] == [("status", "sent")]
        assert pushes[0]["last_request"].startswith(method)

        # The platform's own echo of the change is read back by the next poll, and not pushed
        # again (no loop).
        sync_now(api, connection)
        time.sleep(1.5)
        again = [r for r in platform.requests_to(method, fragment) if external_id in r.path]
        assert len(again) == 1
        assert count_orders(api, platform.platform) == 2000


class TestPoll:
    def test_a_dropped_webhook_is_healed_by_the_next_poll_without_a_double(
        self, api: httpx.Client, connect: Connect, deliver: Deliver, shopify: PlatformServer
    ) -> None:
        connection = connect("shopify")
        heard, dropped = shopify.add_orders(2)
        body = json.dumps({k: v for k, v in heard.items() if k != "_changed"}).encode()
        assert deliver(connection, body, **{"X-Shopify-Topic": "orders/create"}).status_code == 200
        set_credentials(api, connection, credentials(shopify))
        idle(api, connection)
        run = sync_now(api, connection)
        assert run["error"] is None
        assert count_orders(api, "shopify") == 2
        healed = order_by_external_id(api, "shopify", str(dropped["id"]))
        detail = api.get(f"/api/v1/orders/{healed['id']}").json()
        assert detail["timeline"][0]["actor"] == "reconciliation"  # "recovered by reconciliation"
        kept = order_by_external_id(api, "shopify", str(heard["id"]))
        detail = api.get(f"/api/v1/orders/{kept['id']}").json()
        assert detail["timeline"][0]["actor"] == "shopify"

    def test_a_poll_with_nothing_new_costs_one_request(
        self, api: httpx.Client, connect: Connect, platform: PlatformServer
    ) -> None:
        platform.add_orders(150)
        connection = connect(platform.platform)
        set_credentials(api, connection, credentials(platform))
        idle(api, connection)
        assert count_orders(api, platform.platform) == 150
        run = sync_now(api, connection)
        # Salla's list filters by the day orders were made: it reads that day's again (60 a
        # page), the others only what changed since the last poll.
        assert run["requests"] == (3 if platform.platform == "salla" else 1), run
        assert run["created"] == run["updated"] == run["failed"] == 0

    def test_an_order_changed_on_the_platform_is_updated_and_an_older_state_loses(
        self, api: httpx.Client, connect: Connect, shopify: PlatformServer
    ) -> None:
        (order,) = shopify.add_orders(1)
        connection = connect("shopify")
        set_credentials(api, connection, credentials(shopify))
        idle(api, connection)
        shopify.touch(order, cancelled_at="2030-01-01T00:00:00Z")
        run = sync_now(api, connection)
        assert (run["updated"], run["created"]) == (1, 0), run
        ours = order_by_external_id(api, "shopify", str(order["id"]))
        assert ours["status"] == "cancelled"

    def test_refused_credentials_mark_the_connection_and_spare_the_others(
        self, api: httpx.Client, connect: Connect, shopify: PlatformServer, base_url: str
    ) -> None:
        shopify.add_orders(3)
        refused = connect("shopify", name="refused")
        fine = connect("shopify", name="fine")
        set_credentials(api, refused, credentials(shopify, access_token="wrong-" + "x" * 20))
        set_credentials(api, fine, credentials(shopify))
        state = wait_until(
            lambda: (s := sync_state(api, refused))["attention"] and s, what="attention"
        )
        assert "401" in state["attention"]
        assert idle(api, fine)["attention"] is None
        assert count_orders(api, "shopify") == 3
        metrics = httpx.get(f"{base_url}/metrics").text
        assert "orderly_integrations_needing_attention 1.0" in metrics
        # New credentials clear it.
        assert set_credentials(api, refused, credentials(shopify))["attention"] is None

    def test_a_malformed_page_ends_the_run_and_an_item_that_is_no_order_is_kept_as_failed(
        self, api: httpx.Client, connect: Connect, shopify: PlatformServer
    ) -> None:
        shopify.add_orders(2)
        connection = connect("shopify")
        set_credentials(api, connection, credentials(shopify))
        idle(api, connection)
        shopify.faults = ["truncated"]
        run = sync_now(api, connection)
        assert "not JSON" in run["error"]
        shopify.orders.append({"_changed": shopify.tick(), "id": "not-an-order", "line_items": 7})
        shopify.orders.append({"_changed": shopify.tick()})  # no id at all
        run = sync_now(api, connection)
        assert run["error"] is None
        assert run["failed"] == 2
        failed = api.get(
            f"/api/v1/integrations/{connection['id']}/deliveries", params={"outcome": "failed"}
        ).json()["data"]
        assert len(failed) == 2
        assert count_orders(api, "shopify") == 2

    def test_syncs_asked_for_at_once_take_turns_and_make_no_doubles(
        self, api: httpx.Client, connect: Connect, shopify: PlatformServer, crowd: Any
    ) -> None:
        shopify.add_orders(300)
        connection = connect("shopify")
        set_credentials(api, connection, credentials(shopify))
        runs = crowd(
            6,
            lambda client, i: client.post(
                f"/api/v1/integrations/{connection['id']}/sync", timeout=120
            ),
        )
        assert [r.status_code for r in runs] == [200] * 6
        assert count_orders(api, "shopify") == 300
        created = sum(r.json()["created"] for r in runs)
        assert created <= 300


class TestRetryAfter:
    def test_a_long_retry_after_ends_a_backfill_until_then_and_a_short_one_is_waited_out(
        self, api: httpx.Client, connect: Connect, shopify: PlatformServer
    ) -> None:
        shopify.add_orders(600)
        connection = connect("shopify")
        set_credentials(api, connection, credentials(shopify))
        idle(api, connection)
        shopify.faults = ["", "429-long"]
        path = f"/api/v1/integrations/{connection['id']}/backfill"
        assert api.post(path, json={"since": "2020-01-01T00:00:00Z"}).status_code == 202
        state = wait_until(
            lambda: (
                (s := sync_state(api, connection))["runs"][0]["kind"] == "backfill"
                and s["runs"][0]["finished"]
                and s
            ),
            what="the backfill run",
        )
        assert "Retry-After 3600" in state["runs"][0]["error"]
        next_walk = datetime.fromisoformat(state["next_poll"].replace("Z", "+00:00"))
        assert next_walk > datetime.now(UTC) + timedelta(minutes=59)
        assert state["backfill"]["seen"] == 250  # the first page is stored; it goes on from there
        calls = len(shopify.log)
        time.sleep(2)
        assert len(shopify.log) == calls  # not asked again before the platform said


class TestShipmentPush:
    @pytest.mark.parametrize("name", ["shopify", "woocommerce", "zid"])
    def test_a_shipment_made_in_orderly_reaches_the_platform_with_its_tracking(
        self, api: httpx.Client, connect: Connect, name: str
    ) -> None:
        with platform_server(name) as server:
            (order,) = server.add_orders(1)
            connection = connect(name)
            set_credentials(api, connection, credentials(server, push_back=True))
            idle(api, connection)
            ours = order_by_external_id(api, name, server.external_id(order))
            detail = api.get(f"/api/v1/orders/{ours['id']}").json()
            lines = [{"line": p["line"], "quantity": p["quantity"]} for p in detail["products"]]
            response = api.post(
                f"/api/v1/orders/{ours['id']}/shipments",
                json={
                    "carrier": "aramex",
                    "tracking_number": "AX123456789",
                    "tracking_url": "https://aramex.example/track/AX123456789",
                    "lines": lines,
                },
            )
            assert response.status_code == 201, response.text
            if name == "shopify":
                (sent,) = wait_until(lambda: server.requests_to("POST", "/fulfillments.json"))
                fulfillment = sent.json["fulfillment"]
                assert fulfillment["tracking_info"]["number"] == "AX123456789"
                assert fulfillment["tracking_info"]["url"].endswith("AX123456789")
                assert fulfillment["line_items_by_fulfillment_order"] == [
                    {"fulfillment_order_id": int(server.external_id(order)) + 1}
                ]
            elif name == "woocommerce":
                (sent,) = wait_until(lambda: server.requests_to("POST", "/notes"))
                assert "AX123456789" in sent.json["note"]
                assert sent.json["customer_note"] is True
            else:
                sent = wait_until(
                    lambda: [
                        r
                        for r in server.requests_to("POST", "/change-order-status")
                        if "tracking_number" in r.form
                    ]
                )[0]
                assert sent.form["tracking_number"] == "AX123456789"
                assert sent.form["order_status"] == "indelivery"


class TestCredentials:
    def test_secrets_are_never_shown_and_fields_are_required(
        self, api: httpx.Client, connect: Connect
    ) -> None:
        connection = connect("woocommerce")
        response = api.put(
            f"/api/v1/integrations/{connection['id']}/credentials",
            json={"store_url": "https://shop.example.com"},
        )
        assert response.status_code == 422
        assert set(response.json()["details"]) == {"consumer_key", "consumer_secret"}
        body = {
            "store_url": "https://shop.example.com",
            "consumer_key": "ck_public",
            "consumer_secret": "cs_very_secret_value",
        }
        state = set_credentials(api, connection, body)
        assert state["credentials"] is True
        assert state["shown"] == {
            "store_url": "https://shop.example.com",
            "consumer_key": "ck_public",
        }
        assert "cs_very_secret_value" not in json.dumps(sync_state(api, connection))

    def test_hungerstation_has_no_order_api(self, api: httpx.Client, connect: Connect) -> None:
        connection = connect("hungerstation")
        response = api.put(
            f"/api/v1/integrations/{connection['id']}/credentials", json={"access_token": "x"}
        )
        assert response.status_code == 422
        assert response.json()["details"] == {"platform": "hungerstation"}

    def test_a_private_api_address_needs_the_setting(
        self, api: httpx.Client, connect: Connect, setting: Any
    ) -> None:
        setting("ORDERLY_OUTBOUND_ALLOW_PRIVATE", "false")
        connection = connect("salla")
        response = api.put(
            f"/api/v1/integrations/{connection['id']}/credentials",
            json={"access_token": "x" * 20, "api_base_url": "http://127.0.0.1:9/admin/v2"},
        )
        assert response.status_code == 422
        assert "api_base_url" in response.json()["details"]

    def test_sync_without_credentials_is_a_conflict(
        self, api: httpx.Client, connect: Connect
    ) -> None:
        connection = connect("salla")
        response = api.post(f"/api/v1/integrations/{connection['id']}/sync")
        assert response.status_code == 409
