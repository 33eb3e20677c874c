"""Malformed and hostile input: always the envelope, never a 500, never a partial write."""

import base64
import json
import socket
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy import update
from sqlalchemy.orm import Session

from orderly.core.config import get_settings
from orderly.core.http import parse_json
from orderly.orders.documents import MONEY_FIELDS
from orderly.orders.models import OrderRow
from tests.conftest import MakeOrder
from tests.factories import order_payload

ORDERS = "/api/v1/orders"


def assert_envelope(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert set(body) == {"code", "error", "details"}
    assert body["code"] == status
    assert isinstance(body["details"], dict)
    return body


class TestMalformedBodies:
    @pytest.mark.parametrize(
        "raw",
        [
            b"{bad",
            b"",
            b"[1,",
            b"\xff\xfe",
            b'{"a": NaN}',
            b'{"total_amount": Infinity}',
            b'{"customer_name": "a\\u0000b"}',
            b'{"customer_name": "\\ud800"}',
        ],
    )
    def test_not_json_is_400(self, api: httpx.Client, raw: bytes) -> None:
        response = api.post(ORDERS, content=raw, headers={"Content-Type": "application/json"})
        status = 422 if raw == b"" else 400
        assert_envelope(response, status)
        assert api.get(ORDERS).json()["total_count"] == 0

    def test_json_without_a_content_type_is_still_read(self, api: httpx.Client) -> None:
        response = api.post(ORDERS, content=order_payload(), headers={"Content-Type": "text/plain"})
        assert response.status_code == 201

    @pytest.mark.parametrize(
        "raw", [b"[]", b"42", b'"order"', b"null", b'{"products": "many"}', b'{"source": {}}']
    )
    def test_wrong_types_are_422(self, api: httpx.Client, raw: bytes) -> None:
        assert_envelope(api.post(ORDERS, content=raw), 422)

    def test_deeply_nested_json_is_refused_cleanly(self, api: httpx.Client) -> None:
        raw = b'{"meta": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
        assert api.post(ORDERS, content=order_payload()[:-1] + b"," + raw[1:]).status_code in (
            400,
            422,
        )

    def test_oversized_body_is_413(self, api: httpx.Client) -> None:
        size = get_settings().max_body_bytes + 1
        assert_envelope(api.post(ORDERS, content=b" " * size), 413)

    def test_unicode_text_survives(self, api: httpx.Client) -> None:
        name = 'عبد الله 🙂 O\'Brien "Jr" \\ ; DROP'
        response = api.post(ORDERS, content=order_payload(customer_name=name))
        assert response.json()["customer_name"] == name


class TestRoutingErrors:
    def test_unknown_path_is_404_envelope(self, api: httpx.Client) -> None:
        assert_envelope(api.get("/api/v1/nothing"), 404)

    def test_wrong_method_is_405_envelope(self, api: httpx.Client) -> None:
        assert_envelope(api.post("/api/v1/orders/rabc/status", json={}), 405)

    @pytest.mark.parametrize("order_id", ["%00", "..%2F..%2Fetc", "x" * 5000, "'; --"])
    def test_odd_ids_are_404(self, api: httpx.Client, order_id: str) -> None:
        assert_envelope(api.get(f"{ORDERS}/{order_id}"), 404)

    @pytest.mark.parametrize(
        "query",
        [
            "limit=%00",
            "page=1e3",
            "status[]=x",
            "sort=%27",
            "created_from=%FF",
            "search=%FF%FE",
            "limit=1&limit=abc",
            "created_to=2024-02-30",
        ],
    )
    def test_hostile_query_strings_never_500(
        self, api: httpx.Client, make_order: MakeOrder, query: str
    ) -> None:
        make_order()
        response = api.get(f"{ORDERS}?{query}")
        assert response.status_code in (200, 422), response.text
        if response.status_code == 422:
            assert_envelope(response, 422)


class TestHealth:
    def test_healthz(self, anonymous: httpx.Client) -> None:
        assert anonymous.get("/healthz").json()["status"] == "ok"

    def test_openapi_is_served(self, anonymous: httpx.Client) -> None:
        paths = anonymous.get("/openapi.json").json()["paths"]
        assert {
            "/api/v1/orders",
            "/api/v1/orders/{order_id}",
            "/api/v1/orders/bulk",
            "/api/v1/orders/bulk/status",
            "/api/v1/orders/{order_id}/status",
        } <= set(paths)


class TestHostileIds:
    def test_bulk_endpoints_treat_unstorable_ids_as_missing(self, api: httpx.Client) -> None:
        odd = ["r'; delete --xxxxx", "r" + "\u0623" * 16, "x" * 64]
        deleted = api.request("DELETE", f"{ORDERS}/bulk", json={"ids": odd}).json()["data"]
        assert deleted["failed"] == 3
        updates = [{"id": i, "status": "confirmed"} for i in odd]
        moved = api.patch(f"{ORDERS}/bulk/status", json={"updates": updates}).json()["data"]
        assert moved["failed"] == 3


class TestDeclaredErrors:
    """/openapi.json declares the envelope for every error an order endpoint answers with."""

    def test_order_operations_declare_their_error_answers(self, anonymous: httpx.Client) -> None:
        document = anonymous.get("/openapi.json").json()
        envelope = {"$ref": "#/components/schemas/ErrorEnvelope"}
        expected = {
            ("get", "/api/v1/orders"): {"401", "422"},
            ("post", "/api/v1/orders"): {"400", "401", "409", "413", "422"},
            ("get", "/api/v1/orders/{order_id}"): {"401", "404"},
            ("put", "/api/v1/orders/{order_id}"): {"400", "401", "404", "409", "413", "422"},
            ("patch", "/api/v1/orders/{order_id}/status"): {"400", "401", "404", "413", "422"},
            ("delete", "/api/v1/orders/{order_id}"): {"401", "404"},
            ("post", "/api/v1/orders/bulk"): {"400", "401", "413", "422"},
        }
        for (method, path), statuses in expected.items():
            responses = document["paths"][path][method]["responses"]
            for status in statuses:
                schema = responses[status]["content"]["application/json"]["schema"]
                assert schema == envelope, (method, path, status)


class TestValuesAtTheEdges:
    """Inputs that used to be answered 500: each is now stored exactly or refused with 422."""

    META = b'{"weight": 1.5, "tiny": 0.1, "big": 123456789012345678901234567890, "n": [2.50]}'

    def test_fractions_and_big_integers_in_meta_are_kept_digit_for_digit(
        self, api: httpx.Client, make_order: MakeOrder
    ) -> None:
        body = order_payload().rstrip(b"}") + b', "meta": ' + self.META + b"}"
        created = api.post(ORDERS, content=body)
        assert created.status_code == 201, created.text
        order_id = created.json()["id"]
        replaced = api.put(f"{ORDERS}/{order_id}", content=body)
        assert replaced.status_code == 200, replaced.text
        bulk = api.post(f"{ORDERS}/bulk", content=b"[" + body + b"]")
        assert bulk.json()["data"]["succeeded"] == 1, bulk.text
        expected = {
            "weight": Decimal("1.5"),
            "tiny": Decimal("0.1"),
            "big": 123456789012345678901234567890,
            "n": [Decimal("2.50")],
        }
        listed = parse_json(api.get(ORDERS).text)["data"]
        shown = [created.text, replaced.text, api.get(f"{ORDERS}/{order_id}").text]
        for meta in [parse_json(text)["meta"] for text in shown] + [o["meta"] for o in listed]:
            assert meta == expected  # PostgreSQL's jsonb orders keys its own way
        for text in shown:
            assert '"big":123456789012345678901234567890' in text
            assert '"n":[2.50]' in text

    @pytest.mark.parametrize("created", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"])
    def test_a_time_beyond_utcs_range_is_422(self, api: httpx.Client, created: str) -> None:
        body = order_payload().rstrip(b"}") + f', "created": "{created}"}}'.encode()
        response = api.post(ORDERS, content=body)
        assert response.status_code == 422
        assert "created" in response.json()["details"]

    @pytest.mark.parametrize(
        "params",
        [
            {"created_from": "0001-01-01T00:00:00+01:00"},
            {"created_to": "9999-12-31T23:59:59-01:00"},
        ],
    )
    def test_a_filter_time_beyond_utcs_range_is_422(
        self, api: httpx.Client, params: dict[str, str]
    ) -> None:
        response = api.get(ORDERS, params=params)
        assert response.status_code == 422
        assert set(response.json()["details"]) == set(params)

    def test_a_line_total_beyond_storage_is_422(self, api: httpx.Client) -> None:
        body = (
            b'{"source": "api", "currency": "SAR", "total_amount": 5, "subtotal": 1,'
            b' "products": [{"quantity": 1000000, "price": 99999999999999}]}'
        )
        response = api.post(ORDERS, content=body)
        assert response.status_code == 422
        assert response.json()["details"] == {"products.0.total": "Line total is too large"}


def _forged_cursor(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


class TestForgedCursors:
    """A cursor is ours only if it decodes to a position a page could have ended at."""

    @pytest.mark.parametrize(
        ("sort", "raw"),
        [
            ("-total_amount", b'["-total_amount", "NaN", "x"]'),
            ("-total_amount", b'["-total_amount", "Infinity", "x"]'),
            ("-total_amount", b'["-total_amount", "-Infinity", "x"]'),
            ("-total_amount", b'["-total_amount", "1e400", "x"]'),
            ("-total_amount", b'["-total_amount", "1.00001", "x"]'),
            ("-created", b'["-created", "0001-01-01T00:00:00+01:00", "x"]'),
            ("-created", b'["-created", "9999-12-31T23:59:59-01:00", "x"]'),
            pytest.param("-created", b"[" * 100_000 + b"]" * 100_000, id="nested"),
            ("customer_name", b'["customer_name", "a\\u0000b", "x"]'),
            ("-created", b'["-created", "2026-01-01T00:00:00Z", "a\\u0000b"]'),
            ("customer_name", b'["customer_name", "\\ud800", "x"]'),
        ],
    )
    def test_is_refused_with_422(self, api: httpx.Client, sort: str, raw: bytes) -> None:
        response = api.get(ORDERS, params={"sort": sort, "cursor": _forged_cursor(raw)[:2000]})
        body = assert_envelope(response, 422)
        assert set(body["details"]) == {"cursor"}


class TestUnstorableIdsInPaths:
    """A NUL cannot be stored in PostgreSQL text: such an id names nothing, so it is a 404."""

    @pytest.mark.parametrize(
        ("method", "path"),
        [
            ("GET", "/api/v1/integrations/a%00b"),
            ("DELETE", "/api/v1/integrations/a%00b"),
            ("GET", "/api/v1/integrations/a%00b/deliveries"),
            ("GET", "/api/v1/integrations/a%00b/deliveries/c%00d"),
            ("POST", "/api/v1/integrations/a%00b/deliveries/c%00d/replay"),
            ("GET", "/api/v1/orders/a%00b"),
            ("PUT", "/api/v1/orders/a%00b"),
            ("PATCH", "/api/v1/orders/a%00b/status"),
            ("DELETE", "/api/v1/orders/a%00b"),
            ("POST", "/api/v1/webhooks/salla/a%00b"),
        ],
    )
    def test_is_404(self, api: httpx.Client, method: str, path: str) -> None:
        body = order_payload() if method == "PUT" else b'{"status": "confirmed"}'
        response = api.request(method, path, content=body if method in ("PUT", "PATCH") else None)
        assert response.status_code in (401, 404), response.text
        assert_envelope(response, response.status_code)


class TestMetaLimits:
    """``meta`` is free-form but bounded: 32 levels and 16 KiB of JSON."""

    @staticmethod
    def _nested(levels: int) -> dict[str, object]:
        meta: dict[str, object] = {}
        for _ in range(levels - 1):
            meta = {"a": meta}
        return meta

    def test_32_levels_are_kept(self, api: httpx.Client) -> None:
        response = api.post(ORDERS, json={**_body(), "meta": self._nested(32)})
        assert response.status_code == 201, response.text

    @pytest.mark.parametrize("method", ["POST", "PUT"])
    def test_33_levels_are_422(self, api: httpx.Client, make_order: MakeOrder, method: str) -> None:
        path = ORDERS if method == "POST" else f"{ORDERS}/{make_order()['id']}"
        response = api.request(method, path, json={**_body(), "meta": self._nested(33)})
        body = assert_envelope(response, 422)
        assert set(body["details"]) == {"meta"}

    def test_more_than_16_kib_is_422(self, api: httpx.Client) -> None:
        response = api.post(ORDERS, json={**_body(), "meta": {"note": "x" * 16_400}})
        body = assert_envelope(response, 422)
        assert set(body["details"]) == {"meta"}

    def test_an_order_stored_deeper_still_exports_and_reads(
        self, api: httpx.Client, db: Session, make_order: MakeOrder
    ) -> None:
        """Orders stored before the limit (or by hand) can never break a read or an export."""
        deep = make_order()
        make_order(external_id="after")
        nested = "[" * 600 + "1.50" + "]" * 600
        db.execute(
            update(OrderRow)
            .where(OrderRow.id == deep["id"])
            .values(meta=parse_json('{"deep": ' + nested + "}"))
        )
        db.commit()
        shown = api.get(f"{ORDERS}/{deep['id']}")
        assert shown.status_code == 200
        assert nested in shown.text
        exported = api.get(f"{ORDERS}/export", params={"format": "jsonl"})
        assert exported.status_code == 200
        assert len(exported.text.splitlines()) == 2
        assert nested in exported.text
        csv = api.get(f"{ORDERS}/export", params={"format": "csv", "columns": "id,meta"})
        assert len(csv.text.splitlines()) == 3


def _body() -> dict[str, object]:
    return {
        "source": "api",
        "currency": "SAR",
        "total_amount": 10,
        "products": [{"quantity": 1, "price": 10}],
    }


class TestBulkItemsFailAlone:
    def test_one_hostile_item_among_1000_fails_alone(self, api: httpx.Client) -> None:
        hostile = [
            {**_body(), "meta": {"weight": 1.5}},
            {**_body(), "created": "0001-01-01T00:00:00+01:00"},
            {**_body(), "subtotal": 1, "products": [{"quantity": 1_000_000, "price": 99e12}]},
            {**_body(), "meta": TestMetaLimits._nested(40)},
            {**_body(), "meta": {"note": "x" * 17_000}},
        ]
        items = [_body() for _ in range(1000 - len(hostile))] + hostile
        response = api.post(f"{ORDERS}/bulk", json=items)
        assert response.status_code == 200, response.text
        data = response.json()["data"]
        assert (data["succeeded"], data["failed"]) == (996, 4)
        assert sorted(data["errors"]) == ["996", "997", "998", "999"]  # the fraction is kept
        assert api.get(ORDERS).json()["total_count"] == 996


class TestSmallerEdges:
    def test_a_chunked_body_over_the_limit_is_413(self, api: httpx.Client) -> None:
        limit = get_settings().max_body_bytes

        def chunks() -> Iterator[bytes]:
            sent = 0
            while sent <= limit:
                yield b" " * 65536
                sent += 65536

        response = api.post(ORDERS, content=chunks())
        assert_envelope(response, 413)

    def test_invalid_utf8_is_malformed_json(self, api: httpx.Client) -> None:
        response = api.post(ORDERS, content=b'{"customer_name": "\xc3\x28"}')
        body = assert_envelope(response, 400)
        assert body["error"] == "Malformed JSON"

    @pytest.mark.parametrize("amount", [b"1e-999999999", b"1e-5", b"10.00001"])
    def test_amounts_beyond_four_places_are_refused(self, api: httpx.Client, amount: bytes) -> None:
        raw = b'{"source": "api", "currency": "SAR", "total_amount": ' + amount
        raw += b', "products": [{"quantity": 1, "price": 1}]}'
        body = assert_envelope(api.post(ORDERS, content=raw), 422)
        assert "total_amount" in body["details"]

    @pytest.mark.parametrize("limit", ["100.0", "1e2", "20 "])
    def test_limit_must_be_a_whole_number(self, api: httpx.Client, limit: str) -> None:
        assert_envelope(api.get(ORDERS, params={"limit": limit}), 422)

    def test_negative_zero_is_never_shown(self, api: httpx.Client, make_order: MakeOrder) -> None:
        order = make_order()
        raw = (
            b'{"source": "api", "currency": "SAR", "total_amount": -0.0, "discount": -0.00,'
            b' "products": [{"quantity": 1, "price": -0}]}'
        )
        response = api.put(f"{ORDERS}/{order['id']}", content=raw)
        assert response.status_code in (200, 422), response.text
        # The money fields themselves: the answer's dates contain "-0" on many days.
        for answer in (response, api.get(f"{ORDERS}/{order['id']}")):
            if answer.status_code != 200:
                continue
            body = parse_json(answer.content)
            amounts = [body[name] for name in MONEY_FIELDS]
            amounts += [item[name] for item in body["products"] for name in ("price", "total")]
            assert not any(str(amount).startswith("-") for amount in amounts), amounts

    def test_a_name_of_300_non_breaking_spaces_is_422(self, api: httpx.Client) -> None:
        response = api.post(
            "/api/v1/integrations", json={"platform": "salla", "name": "\u00a0" * 300}
        )
        body = assert_envelope(response, 422)
        assert "name" in body["details"]


class TestUnparsableRequests:
    """What the HTTP parser refuses before the app sees it is still answered with the envelope."""

    @pytest.mark.parametrize(
        "request_bytes",
        [
            b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Bad: a\x00b\r\n\r\n",
            b"GET /healthz?" + b"a" * 70_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
            b"NOT A REQUEST\r\n\r\n",
        ],
        ids=["nul-in-header", "long-url", "garbage"],
    )
    def test_is_a_400_envelope(self, base_url: str, request_bytes: bytes) -> None:
        host, port = base_url.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port)), timeout=10) as connection:
            connection.sendall(request_bytes)
            answer = b""
            while chunk := connection.recv(65536):
                answer += chunk
        head, _, body = answer.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 400"), answer[:200]
        assert b"content-type: application/json" in head.lower()
        assert json.loads(body)["code"] == 400
