"""The dashboard in a real headless Chromium (Debian's, driven by Playwright's Python client),
on both engines: sign in, see the orders, switch to Arabic, sign out; forms without their CSRF
token and planted session ids are refused. Screenshots land in docs/screenshots/."""

import csv
import io
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright
from sqlalchemy.orm import Session

from orderly.auth import service as auth
from orderly.auth import users
from orderly.auth.models import Role
from orderly.core.config import get_settings
from tests.conftest import MakeOrder

SCREENSHOTS = Path(__file__).resolve().parent.parent.parent / "docs" / "screenshots"
PASSWORD = "correct-horse-battery"
# Without these Chromium keeps calling home, and this machine's closed network refuses it.
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


# Module scope: Playwright's sync API keeps an event loop running in the main thread while it is
# open, and tests elsewhere call asyncio.run().
@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path="/usr/bin/chromium", headless=True, args=CHROMIUM_FLAGS
        )
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Browser, base_url: str) -> Iterator[Page]:
    context = browser.new_context(base_url=base_url, locale="en-US")
    yield context.new_page()
    context.close()


@pytest.fixture
def owner(db: Session, api: httpx.Client) -> str:
    """An owner of ``acme`` (the organization ``api`` and ``make_order`` write to)."""
    organization = auth.require_organization(db, "acme")
    users.create_user(db, organization, "owner@example.com", Role.OWNER, PASSWORD)
    db.commit()
    return "owner@example.com"


def sign_in(page: Page, email: str, password: str = PASSWORD) -> None:
    page.goto("/sign-in")
    page.fill("input[name=store]", "acme")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")


class TestSignIn:
    def test_sign_in_see_orders_in_english_and_arabic_then_sign_out(
        self, page: Page, owner: str, make_order: MakeOrder, database_url: str
    ) -> None:
        make_order(customer_name="أحمد العتيبي", status="pending")
        make_order(customer_name="Sara", status="pending")
        sign_in(page, owner)
        expect(page.locator("h1")).to_have_text("Orders")
        expect(page.locator("tbody tr")).to_have_count(2)
        expect(page.locator(".tabs a[data-status=pending] .count")).to_have_text("2")
        expect(page.locator("tbody")).to_contain_text("أحمد العتيبي")
        engine = "postgresql" if database_url.startswith("postgresql") else "sqlite"
        if engine == "sqlite":
            page.screenshot(path=str(SCREENSHOTS / "orders-en.png"), full_page=True)

        page.click("a[lang=ar]")
        expect(page.locator("html")).to_have_attribute("dir", "rtl")
        expect(page.locator("h1")).to_have_text("الطلبات")
        expect(page.locator(".tabs a[data-status=pending]")).to_contain_text("قيد الانتظار")
        if engine == "sqlite":
            page.screenshot(path=str(SCREENSHOTS / "orders-ar.png"), full_page=True)

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
        statuses = []
        with httpx.Client(base_url=base_url) as client:
            for _ in range(8):
                form = client.get("/sign-in").text
                token = re.search(r'name="csrf" value="([^"]+)"', form)
                assert token is not None
                statuses.append(
                    client.post(
                        "/sign-in",
                        data={"store": "acme", "email": owner, "password": "x", "csrf": token[1]},
                    ).status_code
                )
        assert statuses == [401] * 5 + [429] * 3


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


class TestOrderPage:
    def test_staff_move_an_order_with_the_allowed_buttons_and_see_the_timeline(
        self, page: Page, owner: str, make_order: MakeOrder, api: httpx.Client, database_url: str
    ) -> None:
        order = make_order(customer_name="Sara")
        sign_in(page, owner)
        page.click(f"tr[data-id={order['id']}] a")
        status = page.locator(".status-field[data-field=status]")
        offered = status.locator("button").evaluate_all("buttons => buttons.map(b => b.dataset.to)")
        assert offered == ["confirmed", "preparing", "ready", "shipped", "delivered", "cancelled"]
        status.locator("button[data-to=confirmed]").click()
        expect(status.locator(".current")).to_have_text("Confirmed")
        expect(page.locator(".timeline li").first).to_contain_text("dashboard:owner@example.com")
        assert api.get(f"/api/v1/orders/{order['id']}").json()["status"] == "confirmed"
        events = api.get("/api/v1/audit", params={"order_id": order["id"]}).json()["data"]
        assert events[0]["actor"].startswith("user:usr_")
        if not database_url.startswith("postgresql"):
            page.screenshot(path=str(SCREENSHOTS / "order-en.png"), full_page=True)

    def test_a_viewer_sees_no_buttons_and_the_server_refuses_the_move(
        self, page: Page, db: Session, make_order: MakeOrder, api: httpx.Client, base_url: str
    ) -> None:
        organization = auth.require_organization(db, "acme")
        users.create_user(db, organization, "viewer@example.com", Role.VIEWER, PASSWORD)
        db.commit()
        order = make_order()
        sign_in(page, "viewer@example.com")
        page.goto(f"/orders/{order['id']}")
        expect(page.locator(".move")).to_have_count(0)
        cookie = next(c for c in page.context.cookies() if c["name"] == "orderly_session")
        token = page.locator("input[name=csrf]").first.get_attribute("value")
        with httpx.Client(
            base_url=base_url, cookies={"orderly_session": cookie["value"]}
        ) as forged:
            refused = forged.post(
                f"/orders/{order['id']}/status",
                data={"csrf": token or "", "field": "status", "to": "confirmed"},
            )
        assert refused.status_code == 403
        assert api.get(f"/api/v1/orders/{order['id']}").json()["status"] == "pending"


class TestManualEntry:
    def test_a_phone_order_of_three_lines_with_live_totals_then_found_by_arabic_search(
        self, page: Page, owner: str, api: httpx.Client, database_url: str
    ) -> None:
        sign_in(page, owner)
        page.click("a[href='/orders/new']")
        page.fill("input[name=customer_name]", "أحمد الشهري")
        page.fill("input[name=customer_phone]", "0501234567")
        for index, (name, quantity, price) in enumerate(
            [("قهوة", "2", "12.50"), ("Tea", "1", "7"), ("Cake", "3", "4.25")]
        ):
            page.fill(f"input[name=lines-{index}-name]", name)
            page.fill(f"input[name=lines-{index}-quantity]", quantity)
            page.fill(f"input[name=lines-{index}-price]", price)
        page.fill("input[name=delivery_fee]", "10")
        page.fill("input[name=discount]", "1.75")
        expect(page.locator("[data-subtotal]")).to_have_text("44.75")
        expect(page.locator("[data-total]")).to_have_text("53.00")
        page.click("[data-add-line]")
        expect(page.locator("[data-line]")).to_have_count(4)
        page.locator("[data-line]").nth(3).locator("[data-remove-line]").click()
        expect(page.locator("[data-line]")).to_have_count(3)
        if not database_url.startswith("postgresql"):
            page.screenshot(path=str(SCREENSHOTS / "new-order-en.png"), full_page=True)
        page.click("[data-order-form] button[type=submit]")

        expect(page.locator("h1")).to_have_text("أحمد الشهري")
        expect(page.locator("body")).to_contain_text("+966501234567")
        [order] = api.get("/api/v1/orders", params={"source": "manual"}).json()["data"]
        assert (order["subtotal"], order["total_amount"]) == (44.75, 53.0)
        assert len(order["products"]) == 3

        page.goto("/?search=" + "احمد")
        expect(page.locator("tbody tr")).to_have_count(1)

    def test_the_apis_errors_appear_next_to_their_fields(self, page: Page, owner: str) -> None:
        sign_in(page, owner)
        page.goto("/orders/new")
        page.fill("input[name=customer_phone]", "12")
        page.fill("input[name=lines-0-name]", "Tea")
        page.fill("input[name=lines-0-quantity]", "0")
        page.fill("input[name=lines-0-price]", "7")
        page.click("[data-order-form] button[type=submit]")
        expect(page.locator(".field-error[data-for='products.0.quantity']")).to_be_visible()
        expect(page.locator("input[name=lines-0-name]")).to_have_value("Tea")  # nothing lost
        page.fill("input[name=lines-0-quantity]", "1")
        page.click("[data-order-form] button[type=submit]")  # the phone is checked next
        expect(page.locator(".field-error[data-for='customer_phone']")).to_be_visible()


class TestExport:
    def test_the_current_view_exports_as_a_file_that_reads_back(
        self, page: Page, owner: str, make_order: MakeOrder, api: httpx.Client
    ) -> None:
        confirmed = make_order(customer_name="Confirmed one")
        api.patch(f"/api/v1/orders/{confirmed['id']}/status", json={"status": "confirmed"})
        make_order(customer_name="Still pending")
        sign_in(page, owner)
        page.click(".tabs a[data-status=confirmed]")
        with page.expect_download() as download:
            page.click(".exports a[data-format=csv]")
        rows = list(csv.DictReader(io.StringIO(Path(download.value.path()).read_text("utf-8-sig"))))
        assert [row["id"] for row in rows] == [confirmed["id"]]
