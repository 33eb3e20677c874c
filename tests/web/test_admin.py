"""Roles, people and API tokens: what each role may see and do, inviting and removing, tokens."""

import re
import time

import httpx
from playwright.sync_api import Browser, Page, expect
from sqlalchemy.orm import Session

from orderly.auth.models import Role
from orderly.auth.service import TokenCache
from tests.conftest import MakeOrder
from tests.web.conftest import (
    add_person,
    csrf_of,
    session_client,
    sign_in,
)


class TestRoles:
    def test_staff_see_no_owner_pages_and_the_server_refuses_their_forms(
        self, page: Page, db: Session, base_url: str, api: httpx.Client
    ) -> None:
        add_person(db, "staff@example.com", Role.STAFF)
        sign_in(page, "staff@example.com")
        expect(page.locator("nav.sections a[href='/integrations']")).to_have_count(0)
        for path in ("/integrations", "/people", "/tokens"):
            assert page.goto(path).status == 403  # type: ignore[union-attr]
        token = csrf_of(page)
        with session_client(page, base_url) as forged:
            for path, data in [
                ("/tokens", {"name": "mine"}),
                ("/integrations", {"platform": "salla"}),
                ("/people", {"email": "friend@example.com", "role": "owner"}),
            ]:
                assert forged.post(path, data={"csrf": token, **data}).status_code == 403
        assert api.get("/api/v1/integrations").json()["count"] == 0

    def test_viewers_read_and_export_but_change_nothing(
        self, page: Page, db: Session, make_order: MakeOrder, base_url: str, api: httpx.Client
    ) -> None:
        order = make_order()
        add_person(db, "viewer@example.com", Role.VIEWER)
        sign_in(page, "viewer@example.com")
        expect(page.locator("tbody tr")).to_have_count(1)
        expect(page.locator("[data-bulk]")).to_have_count(0)
        expect(page.locator("a[href='/orders/new']")).to_have_count(0)
        expect(page.locator(".exports a")).to_have_count(4)
        assert page.goto("/orders/new").status == 403  # type: ignore[union-attr]
        assert page.goto(f"/orders/{order['id']}/edit").status == 403  # type: ignore[union-attr]
        token = csrf_of(page)
        with session_client(page, base_url) as forged:
            for path, data in [
                ("/orders/bulk", {"action": "delete", "confirmed": "yes", "ids": order["id"]}),
                ("/orders/new", {"customer_name": "x", "lines-0-name": "Tea"}),
                (f"/orders/{order['id']}/edit", {"customer_name": "x"}),
            ]:
                assert forged.post(path, data={"csrf": token, **data}).status_code == 403
        assert api.get(f"/api/v1/orders/{order['id']}").status_code == 200


class TestPeopleAndTokens:
    def test_an_owner_invites_someone_who_signs_in_then_removes_them(
        self, page: Page, owner: str, browser: Browser, base_url: str
    ) -> None:
        sign_in(page, owner)
        page.goto("/people")
        page.fill("input[name=email]", "new.staff@example.com")
        page.select_option("select[name=role]", "staff")
        page.click("form.narrow button[type=submit]")
        password = page.locator("[data-password]").inner_text()
        newcomer = browser.new_context(base_url=base_url, locale="en-US").new_page()
        sign_in(newcomer, "new.staff@example.com", password)
        expect(newcomer.locator("h1")).to_have_text("Orders")
        page.locator("tr[data-email='new.staff@example.com'] [data-remove]").click()
        expect(page.locator("tr[data-email='new.staff@example.com']")).to_have_count(0)
        newcomer.goto("/")
        expect(newcomer).to_have_url(re.compile(r"/sign-in$"))  # their session ended
        # The last owner cannot remove themselves.
        page.locator(f"tr[data-email='{owner}'] [data-remove]").click()
        expect(page.locator("[data-error]")).to_be_visible()
        newcomer.context.close()

    def test_a_token_is_shown_once_works_and_is_revoked(
        self, page: Page, owner: str, base_url: str
    ) -> None:
        sign_in(page, owner)
        page.goto("/tokens")
        page.fill("input[name=name]", "warehouse")
        page.click("form.narrow button[type=submit]")
        token = page.locator("[data-token]").inner_text()
        with httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {token}"}) as app:
            assert app.get("/api/v1/orders").status_code == 200
            page.goto("/tokens")
            expect(page.locator("[data-token]")).to_have_count(0)  # never shown again
            page.locator("tr:has-text('warehouse') [data-revoke]").click()
            expect(page.locator("tr:has-text('warehouse') [data-state]")).to_have_text("revoked")
            time.sleep(TokenCache.TTL_S + 0.1)  # what a process may still trust from its cache
            assert app.get("/api/v1/orders").status_code == 401
