"""Sign-in and sign-out, throttling, forged forms and planted sessions, the person's language."""

import re
from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Page, expect
from sqlalchemy.orm import Session

from orderly.auth.models import Role
from orderly.core.config import get_settings
from tests.conftest import MakeOrder
from tests.support.server import live_server
from tests.web.conftest import (
    PASSWORD,
    add_person,
    csrf_of,
    session_client,
    sign_in,
)


class TestSignIn:
    def test_sign_in_see_orders_in_english_and_arabic_then_sign_out(
        self, page: Page, owner: str, make_order: MakeOrder
    ) -> None:
        make_order(customer_name="أحمد العتيبي", status="pending")
        make_order(customer_name="Sara", status="pending")
        sign_in(page, owner)
        expect(page.locator("h1")).to_have_text("Orders")
        expect(page.locator("tbody tr")).to_have_count(2)
        expect(page.locator(".tabs a[data-status=pending] .count")).to_have_text("2")
        expect(page.locator("tbody")).to_contain_text("أحمد العتيبي")

        page.click("a[lang=ar]")
        expect(page.locator("html")).to_have_attribute("dir", "rtl")
        expect(page.locator("h1")).to_have_text("الطلبات")
        expect(page.locator(".tabs a[data-status=pending]")).to_contain_text("قيد الانتظار")

        page.click(".sign-out button")
        expect(page).to_have_url(re.compile(r"/sign-in$"))
        page.goto("/")
        expect(page).to_have_url(re.compile(r"/sign-in$"))  # the session is gone

    def test_a_wrong_password_is_refused(self, page: Page, owner: str) -> None:
        sign_in(page, owner, "not-the-password")
        expect(page.locator(".error")).to_be_visible()
        expect(page).to_have_url(re.compile(r"/sign-in$"))


class TestThrottling:
    @pytest.fixture
    def five_per_hour(self, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
        monkeypatch.setenv("ORDERLY_AUTH_FAILURE_LIMIT", "5/hour")  # none come back meanwhile
        get_settings.cache_clear()
        yield
        monkeypatch.delenv("ORDERLY_AUTH_FAILURE_LIMIT")
        get_settings.cache_clear()

    def test_wrong_passwords_from_one_address_are_throttled(
        self, base_url: str, owner: str, five_per_hour: None
    ) -> None:
        with httpx.Client(base_url=base_url) as client:
            statuses = [try_sign_in(client, owner, "x").status_code for _ in range(8)]
        assert statuses == [401] * 5 + [429] * 3

    def test_the_right_password_is_refused_while_the_address_is_throttled(
        self, base_url: str, owner: str, five_per_hour: None
    ) -> None:
        with httpx.Client(base_url=base_url) as client:
            for _ in range(5):
                assert try_sign_in(client, owner, "x").status_code == 401
            refused = try_sign_in(client, owner, PASSWORD)
            assert refused.status_code == 429
            assert int(refused.headers["Retry-After"]) >= 1
            assert "orderly_session" not in refused.cookies

    def test_workers_without_redis_share_one_count(
        self, database_url: str, base_url: str, owner: str, five_per_hour: None
    ) -> None:
        """Two servers on one database, as two worker processes (or nodes) are: the guesses
        made at either count against the address (kept in the database)."""
        with live_server(database_url) as second:
            statuses = []
            for attempt in range(7):
                with httpx.Client(base_url=base_url if attempt % 2 else second) as client:
                    statuses.append(try_sign_in(client, owner, "x").status_code)
        assert statuses == [401] * 5 + [429] * 2


def try_sign_in(client: httpx.Client, email: str, password: str) -> httpx.Response:
    form = client.get("/sign-in").text
    token = re.search(r'name="csrf" value="([^"]+)"', form)
    assert token is not None
    return client.post(
        "/sign-in", data={"store": "acme", "email": email, "password": password, "csrf": token[1]}
    )


class TestForgery:
    def test_a_form_without_its_csrf_token_is_refused(self, base_url: str, owner: str) -> None:
        with httpx.Client(base_url=base_url) as client:
            client.get("/sign-in")  # the form's cookie, but not its token
            response = client.post(
                "/sign-in",
                data={"store": "acme", "email": owner, "password": PASSWORD, "csrf": "forged"},
            )
        assert response.status_code == 403
        assert "orderly_session" not in response.cookies

    def test_a_planted_session_id_is_never_promoted(self, base_url: str, owner: str) -> None:
        planted = "ses_aaaaaaaaaaaa_" + "b" * 40
        with httpx.Client(base_url=base_url, cookies={"orderly_session": planted}) as client:
            form = client.get("/sign-in").text
            token = re.search(r'name="csrf" value="([^"]+)"', form)
            assert token is not None
            signed = client.post(
                "/sign-in",
                data={"store": "acme", "email": owner, "password": PASSWORD, "csrf": token[1]},
            )
            assert signed.status_code == 303
            assert signed.cookies["orderly_session"] != planted
        with httpx.Client(base_url=base_url, cookies={"orderly_session": planted}) as stranger:
            assert stranger.get("/").headers["location"] == "/sign-in"


class TestLanguageSetting:
    def test_the_persons_language_wins_over_the_browsers(self, page: Page, owner: str) -> None:
        sign_in(page, owner)
        page.goto("/settings")
        page.select_option("[data-language]", "ar")
        page.click("form.narrow button[type=submit]")
        expect(page.locator("html")).to_have_attribute("dir", "rtl")
        page.goto("/")
        expect(page.locator("h1")).to_have_text("الطلبات")  # the browser asks for English


class TestRedirects:
    @pytest.mark.parametrize(
        "back",
        ["//evil.example", "/\\evil.example", "/\\/evil.example", "https://evil.example", "/\t/x"],
    )
    def test_never_lead_off_the_site(self, base_url: str, back: str) -> None:
        with httpx.Client(base_url=base_url) as client:
            answer = client.get("/language", params={"to": "ar", "back": back})
        assert answer.status_code == 303
        assert answer.headers["Location"] == "/"

    def test_a_path_of_the_site_is_kept(self, base_url: str) -> None:
        with httpx.Client(base_url=base_url) as client:
            answer = client.get("/language", params={"to": "ar", "back": "/orders?status=paid"})
        assert answer.headers["Location"] == "/orders?status=paid"


class TestStoreTimeZone:
    def test_times_are_the_stores_own_and_owners_choose_the_zone(
        self, page: Page, owner: str, make_order: MakeOrder, db: Session
    ) -> None:
        made = make_order(created="2026-12-01T09:00:00Z")
        sign_in(page, owner)
        page.goto(f"/orders/{made['id']}")
        # A Saudi store by default: Riyadh's time, 3 hours ahead of UTC.
        expect(page.locator(".channel time")).to_have_text("Dec 1, 2026, 12:00:00 PM GMT+03:00")
        page.goto("/settings")
        page.select_option("select[name=time_zone]", "Asia/Dubai")
        page.click("form[action='/settings'] button[type=submit]")
        expect(page.locator(".notice")).to_be_visible()
        page.goto(f"/orders/{made['id']}")
        expect(page.locator(".channel time")).to_have_text("Dec 1, 2026, 1:00:00 PM GMT+04:00")

    def test_staff_cannot_set_it_and_a_made_up_zone_is_refused(
        self, page: Page, owner: str, db: Session, base_url: str
    ) -> None:
        add_person(db, "staff@example.com", Role.STAFF)
        sign_in(page, "staff@example.com")
        page.goto("/settings")
        expect(page.locator("select[name=time_zone]")).to_have_count(0)
        sign_in(page, owner)
        page.goto("/settings")
        with session_client(page, base_url) as client:
            refused = client.post(
                "/settings", data={"csrf": csrf_of(page), "time_zone": "Mars/Olympus"}
            )
        assert refused.status_code == 422
        assert "not a time zone" in refused.text
