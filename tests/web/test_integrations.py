"""Integrations: connect a platform, receive a signed webhook, see the order and its
delivery, replay."""

from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect

from orderly.integrations.models import Platform
from orderly.integrations.platforms import PLATFORMS
from orderly.integrations.platforms.base import PlatformOrder
from tests.integrations.conftest import fixture_bytes, sign
from tests.web.conftest import (
    sign_in,
)


class TestIntegrations:
    def test_connect_receive_see_the_order_and_its_delivery_then_replay_a_failed_one(
        self,
        page: Page,
        owner: str,
        base_url: str,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        sign_in(page, owner)
        page.click("nav.sections a[href='/integrations']")
        page.select_option("select[name=platform]", "woocommerce")
        page.fill("input[name=name]", "Riyadh shop")
        page.click(".connect button[type=submit]")
        url = page.locator("[data-webhook-url]").inner_text()
        secret = page.locator("[data-secret]").inner_text()
        expect(page.locator("[data-instructions]")).to_contain_text("Delivery URL")

        body = fixture_bytes("woocommerce/order.created.json")
        with httpx.Client() as platform:
            sent = platform.post(url, content=body, headers=sign("woocommerce", body, secret))
            assert sent.json()["outcome"] == "created", sent.text
            # The next one fails: a mapping bug in the running server, fixed before replay.
            woocommerce = PLATFORMS[Platform.WOOCOMMERCE]

            def broken(payload: Any, topic: str | None) -> PlatformOrder | None:
                raise KeyError("line_items")

            monkeypatch.setattr(woocommerce, "to_order", broken)
            updated = fixture_bytes("woocommerce/order.updated.json")
            failed = platform.post(
                url, content=updated, headers=sign("woocommerce", updated, secret)
            )
            assert failed.json()["outcome"] == "failed"
            monkeypatch.undo()

        page.goto("/?source=woocommerce")
        page.locator("tbody tr a").first.click()
        expect(page.locator("[data-external-number]")).not_to_be_empty()
        page.click("[data-delivery]")
        expect(page.locator("[data-body]")).to_contain_text("line_items")

        page.goto("/integrations")
        page.click("table.connections a")
        page.click("a[data-outcome=failed]")
        expect(page.locator("tbody tr")).to_have_count(1)
        page.locator("tbody tr a").first.click()
        expect(page.locator("[data-outcome]")).to_have_text("Failed")
        page.click("[data-replay]")
        expect(page.locator("[data-replayed]")).to_be_visible()
        expect(page.locator("[data-outcome]")).not_to_have_text("Failed")
        page.click("[data-order]")
        expect(page.locator("[data-source]")).to_have_text("WooCommerce")

    def test_a_refused_connection_says_why_next_to_the_field(
        self, page: Page, owner: str, api: httpx.Client
    ) -> None:
        api.post("/api/v1/integrations", json={"platform": "zid", "name": "Jeddah"})
        sign_in(page, owner)
        page.goto("/integrations")
        page.select_option("select[name=platform]", "salla")
        page.fill("input[name=secret]", "short")
        page.click(".connect button[type=submit]")
        expect(page.locator(".field-error[data-for=secret]")).to_be_visible()
        expect(page.locator("table.connections tbody")).to_contain_text("Jeddah")
        assert api.get("/api/v1/integrations").json()["count"] == 1


class TestConnectionSync:
    def test_set_credentials_see_the_poll_backfill_and_a_refused_push_then_retry_it(
        self, page: Page, owner: str, base_url: str
    ) -> None:
        from tests.support.platforms import credentials, platform_server

        with platform_server("woocommerce") as server:
            (order,) = server.add_orders(1)
            sign_in(page, owner)
            page.click("nav.sections a[href='/integrations']")
            page.select_option("select[name=platform]", "woocommerce")
            page.fill("input[name=name]", "Jeddah shop")
            page.click(".connect button[type=submit]")
            page.goto("/integrations")
            page.locator("a", has_text="Jeddah shop").first.click()
            page.click("[data-sync-link]")
            expect(page.locator("[data-credentials]")).to_have_attribute("data-credentials", "none")
            for name, value in credentials(server).items():
                page.fill(f"input[name={name}]", value)
            page.check("input[name=push_back]")
            page.click(".credentials button[type=submit]")
            expect(page.locator("[data-credentials]")).to_have_attribute("data-credentials", "set")
            # The secret is never put back in the page.
            assert page.locator("input[name=consumer_secret]").input_value() == ""
            for _ in range(50):
                page.reload()
                if page.locator("tr[data-run]").count():
                    break
                page.wait_for_timeout(200)
            expect(page.locator("tr[data-run]").first).to_contain_text("1")

            page.fill("input[name=since]", "2024-01-01")
            page.locator("form[action$='/backfill'] button").click()
            expect(page.locator("[role=status]")).to_contain_text("backfill")

            # The platform refuses the next change: the push shows as refused, on the order
            # too, and is sent again by hand.
            page.goto("/?source=woocommerce")
            page.locator("tbody tr a").first.click()
            order_url = page.url
            server.refuse = True
            page.click("[data-field=status] button[data-to=cancelled]")
            for _ in range(50):
                page.goto(order_url)
                if page.locator("[data-push=refused]").count():
                    break
                page.wait_for_timeout(200)
            expect(page.locator("[data-push=refused]")).to_be_visible()
            server.refuse = False
            page.locator("[data-push=refused] a").click()
            page.locator("tr[data-push=refused] button").click()
            expect(page.locator("[role=status]")).to_be_visible()
            for _ in range(100):  # refused once, then sent again and taken
                if len(server.requests_to("PUT", f"/orders/{order['id']}")) == 2:
                    break
                page.wait_for_timeout(100)
            first, second = server.requests_to("PUT", f"/orders/{order['id']}")
            assert first.json == second.json == {"status": "cancelled"}
            # Recorded once the platform's answer is in, a moment after the request reached it.
            for _ in range(50):
                page.goto(order_url)
                if page.locator("[data-push=sent]").count():
                    break
                page.wait_for_timeout(200)
            expect(page.locator("[data-push=sent]")).to_be_visible()
