"""Every page: screenshots in both languages, and hostile forms and addresses answered without
a server error."""

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode

import httpx
import pytest
from playwright.sync_api import Page, expect
from sqlalchemy.orm import Session

from orderly.auth import service as auth
from orderly.auth.models import Role
from tests.conftest import MakeOrder
from tests.integrations.conftest import SECRET, fixture_bytes, sign
from tests.support.receiver import Receiver, receiver
from tests.web.conftest import (
    SCREENSHOTS_INTO,
    add_person,
    csrf_of,
    session_client,
    sign_in,
)


class TestScreenshots:
    """Every page in English and Arabic, saved (by ``make screenshots``) to docs/screenshots/
    (made on SQLite only: the
    pages are the same on both engines); Arabic pages are right-to-left, and the orders page
    fits a phone's width."""

    @pytest.fixture
    def pages(
        self, db: Session, owner: str, make_order: MakeOrder, api: httpx.Client
    ) -> Iterator[dict[str, str]]:
        # An ERP that takes every event, and a warehouse that is down.
        with receiver() as erp:
            yield self._arrange(db, make_order, api, erp)

    def _arrange(
        self, db: Session, make_order: MakeOrder, api: httpx.Client, erp: Receiver
    ) -> dict[str, str]:
        # People first: the dispatcher's writes must not come between this session's read and
        # its write (SQLite refuses a deferred transaction's write after another's commit).
        add_person(db, "staff@example.com", Role.STAFF)
        auth.mint_token(db, auth.require_organization(db, "acme"), "warehouse")
        db.commit()
        taking = api.post(
            "/api/v1/webhook-endpoints", json={"url": erp.url, "description": "ERP"}
        ).json()
        api.post(
            "/api/v1/webhook-endpoints",
            json={"url": "http://127.0.0.1:9/hooks", "events": ["order.status_changed"]},
        )
        sara = make_order(customer_name="سارة القحطاني", notes="Leave at the door", source="phone")
        api.patch(f"/api/v1/orders/{sara['id']}/status", json={"status": "confirmed"})
        huda = make_order(
            customer_name="هدى الشمري",
            payment_status="paid",
            products=[
                {"name": "قهوة عربية", "quantity": 2, "price": 45.5},
                {"name": "تمر سكري", "quantity": 1, "price": 60},
            ],
            tax=0,
            delivery_fee=0,
            total_amount=151,
        )
        records = f"/api/v1/orders/{huda['id']}"
        parcel = api.post(
            f"{records}/shipments",
            json={
                "lines": [{"line": 1, "quantity": 2}],
                "carrier": "aramex",
                "tracking_number": "35821730491",
            },
        ).json()
        api.patch(f"/api/v1/shipments/{parcel['id']}", json={"status": "delivered"})
        api.post(
            f"{records}/refunds", json={"lines": [{"line": 1, "quantity": 1}], "reason": "Damaged"}
        )
        api.post(
            f"{records}/notes", json={"text": "The customer will collect the dates on Sunday."}
        )
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
        delivery = f"/integrations/{connection['id']}/deliveries/{received['delivery_id']}"
        erp.wait_for(5)
        return {
            "orders": "/",
            "order": f"/orders/{sara['id']}",
            "order-shipped": f"/orders/{huda['id']}",
            "new-order": "/orders/new",
            "edit-order": f"/orders/{sara['id']}/edit",
            "integrations": "/integrations",
            "inbox": f"/integrations/{connection['id']}",
            "delivery": delivery,
            "webhooks": "/webhooks",
            "webhook": f"/webhooks/{taking['id']}",
            "people": "/people",
            "tokens": "/tokens",
            "settings": "/settings",
        }

    def test_every_page_in_both_languages(
        self, page: Page, owner: str, pages: dict[str, str], database_url: str, tmp_path: Path
    ) -> None:
        if database_url.startswith("postgresql"):
            pytest.skip("the screenshots are made once, on SQLite")
        folder = Path(SCREENSHOTS_INTO) if SCREENSHOTS_INTO else tmp_path
        folder.mkdir(parents=True, exist_ok=True)
        for language in ("en", "ar"):
            page.context.clear_cookies()
            page.goto(f"/language?to={language}&back=/sign-in")
            page.screenshot(path=str(folder / f"sign-in-{language}.png"), full_page=True)
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
                page.screenshot(path=str(folder / f"{name}-{language}.png"), full_page=True)
            # The confirmation of a bulk delete, and a connection's secret shown once.
            page.goto("/")
            page.check("[data-select-all]")
            # A form's post: the screenshot waits for the page it leads to (one taken while
            # Chromium navigates fails with "Unable to capture screenshot").
            with page.expect_navigation():
                page.click("[data-bulk-delete]")
            page.screenshot(path=str(folder / f"confirm-delete-{language}.png"))
            page.goto("/integrations")
            with page.expect_navigation():
                page.click(".connect button[type=submit]")
            page.screenshot(path=str(folder / f"connected-{language}.png"), full_page=True)
            page.goto("/webhooks")
            page.fill("input[name=url]", "https://erp.example.com/hooks")
            with page.expect_navigation():
                page.click(".add-endpoint button[type=submit]")
            page.screenshot(path=str(folder / f"webhook-added-{language}.png"), full_page=True)

        page.set_viewport_size({"width": 390, "height": 844})
        page.goto("/")
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0  # nothing pushes the page wider than the phone
        page.screenshot(path=str(folder / "orders-ar-phone.png"), full_page=True)


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
