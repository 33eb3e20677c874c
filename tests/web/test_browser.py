"""The dashboard in a real headless Chromium (Debian's, driven by Playwright's Python client),
on both engines: sign in, see the orders, switch to Arabic, sign out; forms without their CSRF
token and planted session ids are refused. Screenshots land in docs/screenshots/."""

import csv
import io
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright
from sqlalchemy.orm import Session

from orderly.auth import service as auth
from orderly.auth import users
from orderly.auth.models import Role
from orderly.auth.service import TokenCache
from orderly.core.config import get_settings
from orderly.integrations.models import Platform
from orderly.integrations.platforms import PLATFORMS
from orderly.integrations.platforms.base import PlatformOrder
from tests.conftest import MakeOrder
from tests.integrations.conftest import SECRET, fixture_bytes, sign

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
        self, page: Page, owner: str, make_order: MakeOrder, api: httpx.Client
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
        self, page: Page, owner: str, api: httpx.Client
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
        page.click("[data-order-form] button[type=submit]")

        expect(page.locator("h1")).to_have_text("أحمد الشهري")
        expect(page.locator("body")).to_contain_text("+966501234567")
        [order] = api.get("/api/v1/orders", params={"source": "manual"}).json()["data"]
        assert (order["subtotal"], order["total_amount"]) == (44.75, 53.0)
        assert len(order["products"]) == 3

        page.goto("/?search=" + "احمد")
        expect(page.locator("tbody tr")).to_have_count(1)
        page.locator("tbody tr a").first.click()
        # Along the whole way, each time with the buttons the new status allows.
        status = page.locator(".status-field[data-field=status]")
        for step in ("confirmed", "preparing", "ready", "shipped", "delivered"):
            status.locator(f"button[data-to={step}]").click()
            expect(status.locator(".current")).to_have_text(step.capitalize())
        expect(status.locator("button")).to_have_count(1)  # delivered: only "returned" is left
        expect(page.locator(".timeline li")).to_have_count(8)  # 3 at creation, 5 moves
        expect(page.locator(".timeline li").first).to_contain_text("→ Delivered")

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


def add_person(db: Session, email: str, role: Role) -> str:
    organization = auth.require_organization(db, "acme")
    users.create_user(db, organization, email, role, PASSWORD)
    db.commit()
    return email


def session_client(page: Page, base_url: str) -> httpx.Client:
    """An HTTP client holding the page's session cookie: to post what the page does not offer."""
    cookie = next(c for c in page.context.cookies() if c["name"] == "orderly_session")
    return httpx.Client(base_url=base_url, cookies={"orderly_session": cookie["value"]})


def csrf_of(page: Page) -> str:
    return page.locator("input[name=csrf]").first.get_attribute("value") or ""


class TestListViews:
    def test_filters_and_sorting_are_the_pages_url(
        self, page: Page, owner: str, make_order: MakeOrder, api: httpx.Client
    ) -> None:
        paid = make_order(customer_name="Basma", source="salla")
        api.patch(f"/api/v1/orders/{paid['id']}/status", json={"payment_status": "paid"})
        make_order(customer_name="Adel", source="salla")
        make_order(customer_name="Camil", source="phone")
        sign_in(page, owner)
        page.fill("input[name=source]", "salla")
        page.click(".filters button[type=submit]")
        expect(page.locator("tbody tr")).to_have_count(2)
        page.click("th a[data-sort=customer_name]")
        names = page.locator("tbody tr td:nth-child(2)").all_inner_texts()
        assert names == ["Adel", "Basma"]
        assert "source=salla" in page.url
        assert "sort=customer_name" in page.url
        page.select_option("select[name=payment_status]", "paid")
        page.click(".filters button[type=submit]")
        expect(page.locator("tbody tr")).to_have_count(1)
        shared = page.url
        page.goto("/")
        page.goto(shared)  # a bookmarked view opens as it was
        expect(page.locator("tbody tr")).to_have_count(1)
        expect(page.locator("tbody")).to_contain_text("Basma")


class TestBulk:
    def test_staff_move_a_filtered_selection_with_the_allowed_moves_only(
        self, page: Page, db: Session, make_order: MakeOrder, api: httpx.Client
    ) -> None:
        chosen = [make_order(customer_name=f"Phone {n}", source="phone") for n in range(3)]
        other = make_order(customer_name="Web", source="web")
        add_person(db, "staff@example.com", Role.STAFF)
        sign_in(page, "staff@example.com")
        page.goto("/?source=phone&status=pending")
        page.check("[data-select-all]")
        expect(page.locator("[data-selected-count]")).to_have_text("3")
        offered = page.locator("[data-bulk-to] option:not([disabled])").evaluate_all(
            "options => options.map(o => o.value)"
        )
        assert offered == ["confirmed", "preparing", "ready", "shipped", "delivered", "cancelled"]
        page.select_option("[data-bulk-to]", "confirmed")
        page.click("[data-bulk-move]")
        expect(page.locator("[data-notice]")).to_contain_text("3")
        for order in chosen:
            moved = api.get(f"/api/v1/orders/{order['id']}").json()
            assert moved["status"] == "confirmed"
            assert moved["status_history"][-1]["source"] == "dashboard:staff@example.com"
        assert api.get(f"/api/v1/orders/{other['id']}").json()["status"] == "pending"
        # Confirmed orders cannot go back to pending: the bar no longer offers it.
        page.goto("/?source=phone")
        page.check("[data-select-all]")
        offered = page.locator("[data-bulk-to] option:not([disabled])").evaluate_all(
            "options => options.map(o => o.value)"
        )
        assert not {"pending", "confirmed"} & set(offered)

    def test_a_row_changed_since_the_page_was_shown_fails_alone(
        self, page: Page, owner: str, make_order: MakeOrder, api: httpx.Client, base_url: str
    ) -> None:
        first, second = make_order(), make_order()
        sign_in(page, owner)
        page.check("[data-select-all]")
        api.patch(f"/api/v1/orders/{first['id']}/status", json={"status": "cancelled"})
        page.select_option("[data-bulk-to]", "confirmed")
        page.click("[data-bulk-move]")
        expect(page.locator("[data-notice]")).to_have_text("1 orders moved, 1 refused.")
        assert api.get(f"/api/v1/orders/{first['id']}").json()["status"] == "cancelled"
        assert api.get(f"/api/v1/orders/{second['id']}").json()["status"] == "confirmed"

    def test_bulk_delete_asks_first(
        self, page: Page, owner: str, make_order: MakeOrder, api: httpx.Client
    ) -> None:
        doomed = [make_order(source="test") for _ in range(2)]
        kept = make_order(source="kept")
        sign_in(page, owner)
        page.goto("/?source=test")
        page.check("[data-select-all]")
        page.click("[data-bulk-delete]")
        expect(page.locator("h1")).to_have_text("Delete 2 orders?")
        assert api.get(f"/api/v1/orders/{doomed[0]['id']}").status_code == 200  # not yet
        page.click("[data-confirm-delete]")
        expect(page.locator("[data-notice]")).to_contain_text("2 orders deleted")
        assert [api.get(f"/api/v1/orders/{o['id']}").status_code for o in doomed] == [404, 404]
        assert api.get(f"/api/v1/orders/{kept['id']}").status_code == 200


class TestEditing:
    def test_edit_lines_and_amounts_as_put_does(
        self, page: Page, owner: str, make_order: MakeOrder, api: httpx.Client
    ) -> None:
        order = make_order(
            customer_name="Sara",
            products=[{"product_id": "SKU-1", "name": "Tea", "quantity": 1, "price": 7}],
            tax=0,
            delivery_fee=0,
            total_amount=7,
        )
        api.patch(f"/api/v1/orders/{order['id']}/status", json={"status": "confirmed"})
        sign_in(page, owner)
        page.goto(f"/orders/{order['id']}")
        page.click("[data-edit]")
        page.fill("input[name=lines-0-quantity]", "3")
        page.fill("input[name=delivery_fee]", "5.50")
        expect(page.locator("[data-total]")).to_have_text("26.50")
        page.click("[data-order-form] button[type=submit]")
        expect(page.locator("[data-order-total]")).to_contain_text("26.50")
        saved = api.get(f"/api/v1/orders/{order['id']}").json()
        assert (saved["total_amount"], saved["status"]) == (26.5, "confirmed")
        assert saved["products"][0]["product_id"] == "SKU-1"  # kept though not shown

    def test_a_form_opened_before_someone_elses_change_saves_nothing(
        self, page: Page, owner: str, make_order: MakeOrder, api: httpx.Client
    ) -> None:
        order = make_order(customer_name="Sara")
        sign_in(page, owner)
        page.goto(f"/orders/{order['id']}/edit")
        api.put(
            f"/api/v1/orders/{order['id']}",
            json={**order_body(order), "customer_name": "Sara (API)"},
        )
        page.fill("input[name=customer_name]", "Sara (dashboard)")
        page.click("[data-order-form] button[type=submit]")
        expect(page.locator("[data-changed]")).to_be_visible()
        assert api.get(f"/api/v1/orders/{order['id']}").json()["customer_name"] == "Sara (API)"


def order_body(order: dict[str, Any]) -> dict[str, Any]:
    keep = ("source", "currency", "customer_name", "total_amount", "products")
    return {key: order[key] for key in keep}


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
        expect(page.locator("[data-source]")).to_have_text("woocommerce")

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


class TestLanguageSetting:
    def test_the_persons_language_wins_over_the_browsers(self, page: Page, owner: str) -> None:
        sign_in(page, owner)
        page.goto("/settings")
        page.select_option("[data-language]", "ar")
        page.click("form.narrow button[type=submit]")
        expect(page.locator("html")).to_have_attribute("dir", "rtl")
        page.goto("/")
        expect(page.locator("h1")).to_have_text("الطلبات")  # the browser asks for English


class TestScreenshots:
    """Every page in English and Arabic, saved to docs/screenshots/ (made on SQLite only: the
    pages are the same on both engines); Arabic pages are right-to-left, and the orders page
    fits a phone's width."""

    @pytest.fixture
    def pages(
        self, db: Session, owner: str, make_order: MakeOrder, api: httpx.Client
    ) -> dict[str, str]:
        sara = make_order(customer_name="سارة القحطاني", notes="Leave at the door", source="phone")
        api.patch(f"/api/v1/orders/{sara['id']}/status", json={"status": "confirmed"})
        make_order(customer_name="Ahmed Hassan", source="salla")
        make_order(customer_name="محمد العمري", source="manual")
        connection = api.post(
            "/api/v1/integrations",
            json={"platform": "woocommerce", "name": "Riyadh shop", "secret": SECRET},
        ).json()
        body = fixture_bytes("woocommerce/order.created.json")
        with httpx.Client() as platform:
            received = platform.post(
                connection["webhook_url"], content=body, headers=sign("woocommerce", body)
            ).json()
        add_person(db, "staff@example.com", Role.STAFF)
        auth.mint_token(db, auth.require_organization(db, "acme"), "warehouse")
        db.commit()
        delivery = f"/integrations/{connection['id']}/deliveries/{received['delivery_id']}"
        return {
            "orders": "/",
            "order": f"/orders/{sara['id']}",
            "new-order": "/orders/new",
            "edit-order": f"/orders/{sara['id']}/edit",
            "integrations": "/integrations",
            "inbox": f"/integrations/{connection['id']}",
            "delivery": delivery,
            "people": "/people",
            "tokens": "/tokens",
            "settings": "/settings",
        }

    def test_every_page_in_both_languages(
        self, page: Page, owner: str, pages: dict[str, str], database_url: str
    ) -> None:
        if database_url.startswith("postgresql"):
            pytest.skip("the screenshots are made once, on SQLite")
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        for language in ("en", "ar"):
            page.context.clear_cookies()
            page.goto(f"/language?to={language}&back=/sign-in")
            page.screenshot(path=str(SCREENSHOTS / f"sign-in-{language}.png"), full_page=True)
            sign_in(page, owner)
            for name, path in pages.items():
                response = page.goto(path)
                assert response is not None
                assert response.status == 200, (name, response.status)
                direction = "rtl" if language == "ar" else "ltr"
                expect(page.locator("html")).to_have_attribute("dir", direction)
                if name == "order":  # arrows point the way the page reads
                    back, onward = ("→", "←") if language == "ar" else ("←", "→")
                    expect(page.locator("main > p > a").first).to_contain_text(back)
                    expect(page.locator(".timeline li").first).to_contain_text(onward)
                page.screenshot(path=str(SCREENSHOTS / f"{name}-{language}.png"), full_page=True)
            # The confirmation of a bulk delete, and a connection's secret shown once.
            page.goto("/")
            page.check("[data-select-all]")
            page.click("[data-bulk-delete]")
            page.screenshot(path=str(SCREENSHOTS / f"confirm-delete-{language}.png"))
            page.goto("/integrations")
            page.click(".connect button[type=submit]")
            page.screenshot(path=str(SCREENSHOTS / f"connected-{language}.png"), full_page=True)

        page.set_viewport_size({"width": 390, "height": 844})
        page.goto("/")
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0  # nothing pushes the page wider than the phone
        page.screenshot(path=str(SCREENSHOTS / "orders-ar-phone.png"), full_page=True)


HOSTILE_VALUES = [
    "9" * 5000,
    "1e999999999",
    "NaN",
    "-Infinity",
    "\x00",
    "a\x00b",
    "\ud800",
    "٣",
    " " * 300,
    "<script>alert(1)</script>",
    "x" * 20_000,
]


class TestHostileForms:
    """Whatever a form carries, the answer is a page (a 4xx or the expected redirect), never a
    500, and nothing is half written."""

    def test_every_form_answers_hostile_fields_without_a_server_error(
        self, page: Page, owner: str, make_order: MakeOrder, api: httpx.Client, base_url: str
    ) -> None:
        order = make_order()
        sign_in(page, owner)
        token = csrf_of(page)
        forms = {
            "/orders/new": [
                "customer_name",
                "customer_phone",
                "lines-0-name",
                "lines-0-quantity",
                "lines-0-price",
                "discount",
                "currency",
            ],
            f"/orders/{order['id']}/edit": ["customer_email", "lines-0-price", "updated"],
            f"/orders/{order['id']}/status": ["field", "to"],
            "/orders/bulk": ["ids", "to", "action", "back"],
            "/integrations": ["platform", "name", "secret"],
            "/people": ["email", "role"],
            "/tokens": ["name"],
            "/settings": ["language"],
        }
        statuses = set()
        with session_client(page, base_url) as client:
            for path, fields in forms.items():
                for value in HOSTILE_VALUES:
                    for field in fields:
                        data = {
                            "csrf": token,
                            "lines-0-name": "Tea",
                            "lines-0-quantity": "1",
                            "lines-0-price": "7",
                            "ids": order["id"],
                            field: value,
                        }
                        response = client.post(
                            path,
                            content=urlencode(data, errors="surrogatepass"),
                            headers={"Content-Type": "application/x-www-form-urlencoded"},
                        )
                        assert response.status_code < 500, (path, field, value[:20])
                        statuses.add(response.status_code)
            garbage = client.post(
                "/orders/new",
                content=b"\xff\xfe\x00garbage",
                headers={"Content-Type": "application/x-www-form-urlencoded"},
            )
            assert garbage.status_code == 400  # a NUL: refused whole, as the API refuses it
        assert statuses <= {200, 303, 400, 403, 404, 409, 412, 422}
        assert api.get(f"/api/v1/orders/{order['id']}").json()["updated"] == order["updated"]
        # A name that is markup was stored as typed and is shown as text, never run.
        page.goto("/?search=script")
        expect(page.locator("tbody tr a").first).to_have_text("<script>alert(1)</script>")

    def test_every_page_answers_hostile_addresses_without_a_server_error(
        self, page: Page, owner: str, make_order: MakeOrder, api: httpx.Client, base_url: str
    ) -> None:
        order = make_order()
        connection = api.post("/api/v1/integrations", json={"platform": "zid"}).json()
        sign_in(page, owner)
        hostile = ["%00", "%ED%A0%80", "9" * 5000, "-1", "1e999", "' OR 1=1 --", "%FF%FE"]
        paths = [
            "/?status={v}",
            "/?search={v}",
            "/?sort={v}",
            "/?cursor={v}",
            "/?page={v}",
            "/?created_from={v}",
            "/?limit={v}",
            "/orders/{v}",
            "/orders/{v}/edit",
            "/export?format={v}",
            "/export?format=csv&status={v}",
            "/language?to={v}&back={v}",
            "/integrations/{v}",
            f"/integrations/{connection['id']}?outcome={{v}}",
            f"/integrations/{connection['id']}?page={{v}}",
            f"/integrations/{connection['id']}/deliveries/{{v}}",
        ]
        with session_client(page, base_url) as client:
            for path in paths:
                for value in hostile:
                    response = client.get(path.format(v=value))
                    assert response.status_code < 500, (path, value[:20])
        assert api.get(f"/api/v1/orders/{order['id']}").status_code == 200
