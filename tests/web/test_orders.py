"""The orders pages: one order and its moves, manual entry, export, the list's views, bulk
changes, editing."""

import csv
import io
from pathlib import Path

import httpx
from playwright.sync_api import Page, expect
from sqlalchemy.orm import Session

from orderly.auth import service as auth
from orderly.auth import users
from orderly.auth.models import Role
from tests.conftest import MakeOrder
from tests.web.conftest import (
    PASSWORD,
    add_person,
    order_body,
    sign_in,
)


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
        expect(page.locator(".timeline li").first).to_contain_text("owner@example.com")
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


class TestListViews:
    def test_filters_and_sorting_are_the_pages_url(
        self, page: Page, owner: str, make_order: MakeOrder, api: httpx.Client
    ) -> None:
        paid = make_order(customer_name="Basma", source="salla")
        api.patch(f"/api/v1/orders/{paid['id']}/status", json={"payment_status": "paid"})
        make_order(customer_name="Adel", source="salla")
        make_order(customer_name="Camil", source="phone")
        sign_in(page, owner)
        offered = page.locator("select[name=source] option").all_inner_texts()
        assert offered[1:] == ["phone", "Salla"]  # the organization's channels, by their names
        page.select_option("select[name=source]", "salla")
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


class TestShipmentsRefundsReturnsNotes:
    def test_ship_in_two_parcels_deliver_refund_return_and_note(
        self, page: Page, owner: str, make_order: MakeOrder, api: httpx.Client
    ) -> None:
        made = make_order(
            customer_name="Huda",
            payment_status="paid",
            products=[
                {"name": "Qahwa", "quantity": 2, "price": 10},
                {"name": "Tamr", "quantity": 1, "price": 15},
                {"name": "Cups", "quantity": 3, "price": 5},
            ],
            tax=0,
            delivery_fee=0,
            total_amount=50,
        )
        sign_in(page, owner)
        page.goto(f"/orders/{made['id']}")
        ship = page.locator("[data-ship-form]")
        ship.locator("input[name=q1]").fill("2")
        ship.locator("input[name=q2]").fill("1")
        ship.locator("input[name=carrier]").fill("aramex")
        ship.locator("input[name=tracking_number]").fill("AX-1")
        ship.locator("button[type=submit]").click()
        expect(page.locator(".status-field[data-field=fulfillment_status] .current")).to_have_text(
            "Partially fulfilled"
        )
        expect(page.locator("[data-tracking]")).to_have_attribute(
            "href", "https://www.aramex.com/track/results?ShipmentNumber=AX-1"
        )
        # A quantity beyond what is left is refused beside the form, and nothing is shipped.
        ship = page.locator("[data-ship-form]")
        ship.locator("input[name=q3]").evaluate("input => input.removeAttribute('max')")
        ship.locator("input[name=q3]").fill("4")
        ship.locator("button[type=submit]").click()
        expect(page.locator("[data-ship-form] [data-problem]")).to_contain_text("Line 3 has 3 left")
        page.locator("[data-ship-form] input[name=q3]").fill("3")
        page.locator("[data-ship-form] input[name=tracking_number]").fill("SP-2")
        page.locator("[data-ship-form] button[type=submit]").click()
        expect(page.locator(".status-field[data-field=status] .current")).to_have_text("Shipped")
        expect(page.locator("[data-ship-form]")).to_have_count(0)  # nothing left to ship

        for parcel in page.locator("[data-shipment]").all():
            parcel.locator("select[name=status]").select_option("delivered")
            parcel.locator("button[type=submit]").click()
        expect(page.locator(".status-field[data-field=status] .current")).to_have_text("Delivered")

        refund = page.locator("[data-refund-form]")
        expect(refund.locator("[data-refundable]")).to_contain_text("50.00")
        refund.locator("input[name=q2]").fill("1")
        refund.locator("input[name=reason]").fill("Damaged")
        refund.locator("button[type=submit]").click()
        expect(page.locator("[data-refunded]")).to_contain_text("15.00")
        expect(page.locator("[data-refundable]")).to_contain_text("35.00")

        page.locator("[data-return-form] input[name=q1]").fill("1")
        page.locator("[data-return-form] button[type=submit]").click()
        page.locator("[data-return] input[name=refund]").check()
        page.locator("[data-return] button[type=submit]").click()
        expect(page.locator("tr[data-line='1'] [data-returned]")).to_have_text("1")

        page.locator("[data-note-form] textarea").fill("Customer keeps one Qahwa.")
        page.locator("[data-note-form] button[type=submit]").click()
        expect(page.locator(".timeline li").first).to_contain_text("Customer keeps one Qahwa.")
        expect(page.locator(".timeline li").first).to_contain_text("owner@example.com")
        kinds = page.locator(".timeline li").evaluate_all(
            "items => items.map(i => i.dataset.entry)"
        )
        for kind in ("shipment_created", "shipment_status", "refund_created", "return_received"):
            assert kind in kinds

        now = api.get(f"/api/v1/orders/{made['id']}").json()
        assert now["refunded_amount"] == 25.0  # 15.00 for Tamr, 10.00 for one Qahwa returned
        assert [p["returned_quantity"] for p in now["products"]] == [1, 0, 0]
        assert len(now["shipments"]) == 2

        page.goto(f"/language?to=ar&back=/orders/{made['id']}")
        expect(page.locator("[data-shipments] h2")).to_have_text("الشحنات")
        expect(page.locator("[data-timeline] h2")).to_have_text("السجل الزمني")
