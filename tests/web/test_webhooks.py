"""Webhooks, for owners: add an endpoint (its secret shown once), see deliveries arrive and
their attempts, retry one, pause and resume; refused fields said next to the field."""

import httpx
from playwright.sync_api import Page, expect
from sqlalchemy.orm import Session
from standardwebhooks import Webhook

from orderly.auth.models import Role
from tests.conftest import MakeOrder
from tests.support.receiver import Answer, receiver
from tests.web.conftest import add_person, sign_in


class TestWebhooks:
    def test_add_an_endpoint_see_its_deliveries_retry_one_and_pause_it(
        self, page: Page, owner: str, make_order: MakeOrder
    ) -> None:
        with receiver(lambda r, h: Answer(500) if r.requests == 1 else Answer(200)) as hook:
            sign_in(page, owner)
            page.click("nav.sections a[href='/webhooks']")
            page.fill("input[name=url]", hook.url)
            page.fill("input[name=description]", "ERP")
            page.check("input[value='order.created']")
            page.click(".add-endpoint button[type=submit]")
            secret = page.locator("[data-secret]").inner_text()
            assert secret.startswith("whsec_")

            order = make_order()
            event = hook.wait_for(1)[0]
            assert event["order_id"] == order["id"]
            verified = Webhook(secret).verify(hook.received[0].body, hook.received[0].headers)
            assert verified["type"] == "order.created"

            page.goto("/webhooks")
            row = page.locator("table.endpoints tbody tr")
            expect(row).to_contain_text("ERP")
            expect(row.locator("[data-enabled]")).to_have_attribute("data-enabled", "true")
            row.locator("a").first.click()
            delivered = page.locator("tr[data-state=delivered]")
            expect(delivered).to_have_count(1)
            expect(delivered.locator(".attempts li")).to_have_count(2)  # a 500, then 200
            expect(delivered.locator(".attempts li").first).to_contain_text("500")

            page.click("[data-retry]")
            expect(page.locator("[data-retried]")).to_be_visible()
            hook.wait_for(2)

            page.click("[data-switch]")  # pause
            expect(page.locator("dd[data-enabled]")).to_have_attribute("data-enabled", "false")
            make_order()
            page.wait_for_timeout(300)
            assert len(hook.events()) == 2  # paused: nothing sent
            page.click("[data-switch]")  # resume: sent what it missed
            hook.wait_for(3)

    def test_a_refused_url_says_why_next_to_the_field(self, page: Page, owner: str) -> None:
        sign_in(page, owner)
        page.goto("/webhooks")
        page.fill("input[name=url]", "ftp://erp.example.com/")
        page.click(".add-endpoint button[type=submit]")
        expect(page.locator("[data-for=url]")).to_be_visible()

    def test_in_arabic(self, page: Page, owner: str, api: httpx.Client) -> None:
        api.post("/api/v1/webhook-endpoints", json={"url": "https://erp.example.com/hooks"})
        sign_in(page, owner)
        page.goto("/language?to=ar&back=/webhooks")
        expect(page.locator("html")).to_have_attribute("dir", "rtl")
        expect(page.locator("h1")).to_have_text("الويب هوك")
        expect(page.locator("table.endpoints")).to_contain_text("كل الأحداث")

    def test_only_owners_see_them(self, page: Page, db: Session, owner: str) -> None:
        staff = add_person(db, "staff@example.com", Role.STAFF)
        sign_in(page, staff)
        response = page.goto("/webhooks")
        assert response is not None
        assert response.status == 403
        expect(page.locator("nav.sections a[href='/webhooks']")).to_have_count(0)
