"""Malformed and hostile input: always the envelope, never a 500, never a partial write."""

from decimal import Decimal

import httpx
import pytest

from orderly.core.config import get_settings
from orderly.core.http import parse_json
from tests.conftest import MakeOrder
from tests.factories import order_payload

ORDERS = "/api/v1/orders"


def assert_envelope(response: httpx.Response, status: int) -> dict[str, object]:
    assert response.status_code == status, response.text
    body: dict[str, object] = response.json()
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
