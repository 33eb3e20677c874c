"""Headers every answer carries, and the strict policy of the docs pages."""

import base64
import hashlib
import re

import httpx
import pytest

from tests.conftest import MakeOrder

ORDERS = "/api/v1/orders"


class TestSecurityHeaders:
    @pytest.mark.parametrize(
        ("method", "path", "status"),
        [
            ("GET", "/healthz", 200),
            ("GET", ORDERS, 401),
            ("GET", "/nowhere", 404),
            ("GET", "/openapi.json", 200),
            ("GET", "/docs", 200),
        ],
    )
    def test_on_every_answer(
        self, anonymous: httpx.Client, method: str, path: str, status: int
    ) -> None:
        response = anonymous.request(method, path)
        assert response.status_code == status
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["X-Frame-Options"] == "DENY"
        assert response.headers["Referrer-Policy"] == "no-referrer"

    def test_an_answer_with_a_secret_is_never_cached(self, api: httpx.Client) -> None:
        created = api.post("/api/v1/integrations", json={"platform": "salla"})
        assert created.json()["secret"]
        assert created.headers["Cache-Control"] == "no-store"

    def test_answers_with_orders_or_customers_are_never_stored(
        self, api: httpx.Client, make_order: MakeOrder
    ) -> None:
        order = make_order()
        for answer in (
            api.get(ORDERS),
            api.get(f"{ORDERS}/{order['id']}"),
            api.get(f"{ORDERS}/export"),
            api.get("/api/v1/audit"),
            api.get(f"{ORDERS}/nope"),
            api.get("/"),  # the dashboard (its sign-in page)
        ):
            assert answer.headers["Cache-Control"] == "no-store", answer.url

    def test_static_files_and_the_schema_may_be_cached(self, anonymous: httpx.Client) -> None:
        for path in ("/static/app.css", "/openapi.json"):
            assert anonymous.get(path).headers.get("Cache-Control") != "no-store", path

    @pytest.mark.parametrize("page", ["/docs", "/redoc"])
    def test_docs_pages_allow_only_their_own_scripts(
        self, anonymous: httpx.Client, page: str
    ) -> None:
        response = anonymous.get(page)
        policy = dict(
            part.strip().split(" ", 1)
            for part in response.headers["Content-Security-Policy"].split(";")
        )
        assert policy["default-src"] == "'none'"
        assert "'unsafe-inline'" not in policy["script-src"]
        assert "http" not in policy["script-src"]  # nothing from elsewhere
        for script in re.findall(r"<script>(.*?)</script>", response.text, re.DOTALL):
            digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
            assert f"'sha256-{digest}'" in policy["script-src"]


class TestMethodNotAllowed:
    @pytest.mark.parametrize(
        ("method", "path", "allowed"),
        [
            ("OPTIONS", "/api/v1/integrations", "GET, POST"),
            ("PUT", ORDERS, "GET, POST"),
            ("OPTIONS", f"{ORDERS}/ord_1", "DELETE, GET, PUT"),
        ],
    )
    def test_names_every_method_the_path_serves(
        self, api: httpx.Client, method: str, path: str, allowed: str
    ) -> None:
        response = api.request(method, path)
        assert response.status_code == 405
        assert response.headers["Allow"] == allowed
        assert response.json()["error"] == "Method not allowed"
