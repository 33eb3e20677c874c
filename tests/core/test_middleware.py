"""Headers every answer carries, and the strict policy of the docs pages."""

import base64
import hashlib
import re

import httpx
import pytest

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
