"""GET /orders/export: each format read back with the reader its users would use."""

import csv
import io
import json
from decimal import Decimal
from typing import Any

import httpx
import openpyxl
import pyarrow.parquet as pq
import pytest

from tests.conftest import MakeOrder
from tests.factories import exact, product

EXPORT = "/api/v1/orders/export"
DEFAULT_COLUMNS = [
    "id",
    "source",
    "external_id",
    "external_number",
    "customer_name",
    "customer_email",
    "customer_phone",
    "subtotal",
    "discount",
    "tax",
    "delivery_fee",
    "total_amount",
    "refunded_amount",
    "currency",
    "status",
    "payment_status",
    "fulfillment_status",
    "notes",
    "created",
    "updated",
]
TRICKY = 'Ahmed, "the, quoted"\nسطر جديد، أحمد'


def export(api: httpx.Client, **params: Any) -> httpx.Response:
    response = api.get(EXPORT, params=params)
    assert response.status_code == 200, response.text
    return response


def listed(api: httpx.Client, **params: Any) -> list[dict[str, Any]]:
    orders: list[dict[str, Any]] = exact(
        api.get("/api/v1/orders", params={"limit": 100, **params})
    )["data"]
    return orders


@pytest.fixture
def orders(make_order: MakeOrder) -> list[dict[str, Any]]:
    return [
        make_order(
            customer_name=TRICKY,
            notes="line one\r\nline two",
            status="delivered",
            created="2024-03-01T10:00:00Z",
            external_id="E-1",
        ),
        make_order(
            currency="KWD",
            total_amount=Decimal("1.234"),
            tax=None,
            delivery_fee=None,
            products=[product(price=Decimal("0.617"))],
            created="2024-03-02T10:00:00Z",
        ),
        make_order(
            source="salla",
            customer_email=None,
            customer_phone=None,
            products=[product(), product(name="تمر", quantity=1, price=Decimal("3.5"))],
            created="2024-03-03T10:00:00Z",
        ),
    ]


class TestCsv:
    def test_rows_match_the_api_with_rfc_4180_quoting(
        self, api: httpx.Client, orders: list[dict[str, Any]]
    ) -> None:
        response = export(api)
        assert response.headers["content-type"].startswith("text/csv")
        disposition = response.headers["content-disposition"]
        assert disposition.startswith('attachment; filename="orders-acme-')
        assert disposition.endswith('.csv"')
        assert "\r\n" in response.text
        rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8"), newline="")))
        expected = listed(api)
        assert [r["id"] for r in rows] == [o["id"] for o in expected]
        for row, order in zip(rows, expected, strict=True):
            assert row["customer_name"] == (order["customer_name"] or "")
            assert row["notes"] == (order["notes"] or "")
            assert row["total_amount"] == str(order["total_amount"])
            assert row["created"] == order["created"]
            assert row["status"] == order["status"]
        kwd = next(r for r in rows if r["currency"] == "KWD")
        assert (kwd["total_amount"], kwd["tax"]) == ("1.234", "0.000")

    def test_bom_for_excel(self, api: httpx.Client, orders: list[dict[str, Any]]) -> None:
        assert export(api, bom="true").content.startswith(b"\xef\xbb\xbfid,")
        assert export(api).content.startswith(b"id,")

    def test_chosen_columns_in_the_chosen_order(
        self, api: httpx.Client, orders: list[dict[str, Any]]
    ) -> None:
        text = export(api, columns="total_amount,id,products,items_count").text
        header, first = text.splitlines()[0], list(csv.reader(io.StringIO(text)))[1]
        assert header == "total_amount,id,products,items_count"
        assert json.loads(first[2])[0]["name"] == "Panadol Extra"

    def test_line_items_shape_has_a_row_per_line(
        self, api: httpx.Client, orders: list[dict[str, Any]]
    ) -> None:
        rows = list(csv.DictReader(io.StringIO(export(api, shape="line_items").text)))
        assert len(rows) == 4
        salla = [r for r in rows if r["source"] == "salla"]
        assert [(r["line_number"], r["product_name"], r["line_total"]) for r in salla] == [
            ("1", "Panadol Extra", "31.00"),
            ("2", "تمر", "3.50"),
        ]

    def test_filters_and_sort_are_the_lists(
        self, api: httpx.Client, orders: list[dict[str, Any]]
    ) -> None:
        for params in (
            {"status": "delivered"},
            {"source": "salla"},
            {"search": "احمد"},
            {"created_from": "2024-03-02"},
            {"sort": "total_amount"},
        ):
            rows = list(csv.DictReader(io.StringIO(export(api, **params).text)))
            assert [r["id"] for r in rows] == [o["id"] for o in listed(api, **params)], params

    def test_empty_export_has_just_the_header(self, api: httpx.Client) -> None:
        assert export(api).text.strip() == ",".join(DEFAULT_COLUMNS)


class TestJsonl:
    def test_each_line_is_the_full_order_as_get_returns_it(
        self, api: httpx.Client, orders: list[dict[str, Any]]
    ) -> None:
        response = export(api, format="jsonl")
        assert response.headers["content-type"] == "application/x-ndjson"
        lines = [json.loads(line) for line in response.text.splitlines()]
        assert len(lines) == 3
        for line in lines:
            assert line == api.get(f"/api/v1/orders/{line['id']}").json()


class TestXlsx:
    def test_a_real_workbook_with_typed_cells_and_a_frozen_header(
        self, api: httpx.Client, orders: list[dict[str, Any]]
    ) -> None:
        book = openpyxl.load_workbook(io.BytesIO(export(api, format="xlsx").content))
        sheet = book.active
        assert sheet is not None
        assert sheet.freeze_panes == "A2"
        rows = list(sheet.iter_rows(values_only=True))
        header = list(rows[0])
        assert header[0] == "id"
        assert len(rows) == 4
        first = dict(zip(header, rows[1], strict=True))
        assert first["customer_name"] == listed(api)[0]["customer_name"]
        assert isinstance(first["total_amount"], float)
        assert first["created"].year == 2024  # a real date cell
        kwd = next(
            dict(zip(header, r, strict=True))
            for r in rows[1:]
            if r[header.index("currency")] == "KWD"
        )
        assert kwd["total_amount"] == pytest.approx(1.234)


class TestParquet:
    def test_typed_columns_with_exact_decimals(
        self, api: httpx.Client, orders: list[dict[str, Any]]
    ) -> None:
        table = pq.read_table(io.BytesIO(export(api, format="parquet").content))
        assert str(table.schema.field("total_amount").type) == "decimal128(18, 4)"
        assert str(table.schema.field("created").type) == "timestamp[us, tz=UTC]"
        records = table.to_pylist()
        assert [r["id"] for r in records] == [o["id"] for o in listed(api)]
        kwd = next(r for r in records if r["currency"] == "KWD")
        assert kwd["total_amount"] == Decimal("1.234")
        assert next(r for r in records if r["external_id"] == "E-1")["customer_name"] == TRICKY

    def test_line_items_shape(self, api: httpx.Client, orders: list[dict[str, Any]]) -> None:
        table = pq.read_table(io.BytesIO(export(api, format="parquet", shape="line_items").content))
        assert table.num_rows == 4
        assert str(table.schema.field("quantity").type) == "int64"


class TestRefusals:
    @pytest.mark.parametrize(
        ("params", "field"),
        [
            ({"format": "pdf"}, "format"),
            ({"shape": "customers"}, "shape"),
            ({"columns": "id,colour"}, "columns"),
            ({"columns": "id,id"}, "columns"),
            ({"columns": "quantity"}, "columns"),
            ({"format": "jsonl", "columns": "id"}, "columns"),
            ({"format": "jsonl", "shape": "line_items"}, "shape"),
            ({"status": "lost"}, "status"),
            ({"sort": "colour"}, "sort"),
        ],
    )
    def test_bad_parameters_are_422(
        self, api: httpx.Client, params: dict[str, str], field: str
    ) -> None:
        response = api.get(EXPORT, params=params)
        assert response.status_code == 422
        assert field in response.json()["details"]

    def test_needs_a_token(self, anonymous: httpx.Client) -> None:
        assert anonymous.get(EXPORT).status_code == 401

    def test_another_organizations_orders_never_appear(
        self, other_api: httpx.Client, orders: list[dict[str, Any]]
    ) -> None:
        for fmt in ("csv", "jsonl"):
            text = export(other_api, format=fmt).text
            assert all(o["id"] not in text for o in orders)


class TestCsvWriters:
    def test_the_database_and_python_write_the_same_csv(
        self, api: httpx.Client, orders: list[dict[str, Any]], make_order: MakeOrder
    ) -> None:
        """PostgreSQL writes plain-column CSV itself (COPY); adding a computed column makes
        Python write it. Both must give the same bytes for the shared columns."""
        make_order(notes="", customer_name="  spaced  ", created="2024-03-04T10:00:00.5Z")
        plain = export(api).content.decode()
        computed = export(api, columns=",".join([*DEFAULT_COLUMNS, "items_count"])).content
        assert plain.endswith("\r\n")
        read = list(csv.reader(io.StringIO(plain, newline="")))
        again = [row[:-1] for row in csv.reader(io.StringIO(computed.decode(), newline=""))]
        assert read == again


class TestShipmentsAndRefunds:
    @pytest.fixture
    def shipped(self, api: httpx.Client, make_order: MakeOrder) -> dict[str, Any]:
        made = make_order(
            payment_status="paid",
            products=[product(quantity=2), product(product_id="B", quantity=1)],
            total_amount=Decimal("56.50"),
        )
        path = f"/api/v1/orders/{made['id']}"
        for number, lines in (
            ("AX1", [{"line": 1, "quantity": 2}]),
            ("AX2", [{"line": 2, "quantity": 1}]),
        ):
            answer = api.post(
                f"{path}/shipments",
                json={"lines": lines, "carrier": "aramex", "tracking_number": number},
            )
            assert answer.status_code == 201, answer.text
        assert (
            api.post(f"{path}/refunds", content=b'{"amount": 6.5, "reason": "Late"}').status_code
            == 201
        )
        make_order()  # neither shipped nor refunded
        return made

    def test_order_rows_carry_tracking_quantities_and_refunds(
        self, api: httpx.Client, shipped: dict[str, Any]
    ) -> None:
        columns = "id,tracking_numbers,shipped_quantity,refunded_amount,net_amount"
        rows = list(csv.DictReader(io.StringIO(export(api, columns=columns, sort="created").text)))
        assert rows[0] == {
            "id": shipped["id"],
            "tracking_numbers": "AX1 AX2",
            "shipped_quantity": "3",
            "refunded_amount": "6.50",
            "net_amount": "50.00",
        }
        assert rows[1]["tracking_numbers"] == ""
        assert rows[1]["shipped_quantity"] == "0"

    def test_shipments_shape_has_a_row_per_parcel(
        self, api: httpx.Client, shipped: dict[str, Any]
    ) -> None:
        rows = list(csv.DictReader(io.StringIO(export(api, shape="shipments").text)))
        assert [(r["id"], r["tracking_number"], r["shipment_quantity"]) for r in rows] == [
            (shipped["id"], "AX1", "2"),
            (shipped["id"], "AX2", "1"),
        ]
        assert rows[0]["tracking_url"].startswith("https://www.aramex.com/")
        assert rows[0]["shipment_status"] == "shipped"

    def test_refunds_shape_has_a_row_per_refund(
        self, api: httpx.Client, shipped: dict[str, Any]
    ) -> None:
        rows = list(csv.DictReader(io.StringIO(export(api, shape="refunds").text)))
        assert [(r["id"], r["refund_amount"], r["refund_reason"]) for r in rows] == [
            (shipped["id"], "6.50", "Late")
        ]

    def test_jsonl_carries_the_records(self, api: httpx.Client, shipped: dict[str, Any]) -> None:
        lines = export(api, format="jsonl", sort="created").text.splitlines()
        first = json.loads(lines[0], parse_float=Decimal)
        assert [s["tracking_number"] for s in first["shipments"]] == ["AX1", "AX2"]
        assert first["refunds"][0]["amount"] == Decimal("6.50")
        assert any(entry["type"] == "refund_created" for entry in first["timeline"])
