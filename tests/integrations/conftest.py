"""Connections and deliveries signed the way each platform signs them."""

import base64
import hashlib
import hmac
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest

# Long enough for HS512 (RFC 7518 asks for 64 bytes) and a valid password for every platform.
SECRET = "whsec-" + "k" * 64

Connect = Callable[..., dict[str, Any]]
Deliver = Callable[..., httpx.Response]


def fixture_bytes(name: str) -> bytes:
    return (Path(__file__).parent.parent / "fixtures" / "integrations" / name).read_bytes()


def sign(platform: str, body: bytes, secret: str = SECRET) -> dict[str, str]:
    """The headers ``platform`` sends with ``body`` (its documented scheme, written here anew
    from the platform's side so that a mistake in the service's check cannot hide)."""
    digest = hmac.new(secret.encode(), body, hashlib.sha256).digest()
    if platform == "salla":
        return {"X-Salla-Security-Strategy": "Signature", "X-Salla-Signature": digest.hex()}
    if platform == "shopify":
        return {"X-Shopify-Hmac-Sha256": base64.b64encode(digest).decode()}
    if platform == "woocommerce":
        return {"X-WC-Webhook-Signature": base64.b64encode(digest).decode()}
    if platform == "zid":
        return {"Authorization": "Basic " + base64.b64encode(f"zid:{secret}".encode()).decode()}
    if platform == "hungerstation":
        claims = {"service": "middleware", "exp": int(time.time()) + 300}
        return {"Authorization": "Bearer " + jwt.encode(claims, secret, algorithm="HS512")}
    raise ValueError(platform)


@pytest.fixture
def connect(api: httpx.Client) -> Connect:
    """``connect("salla")``: a connection of ``acme`` with the shared test secret."""

    def make(platform: str, secret: str | None = SECRET, **fields: Any) -> dict[str, Any]:
        body = {"platform": platform, **fields}
        if secret is not None:
            body["secret"] = secret
        response = api.post("/api/v1/integrations", json=body)
        assert response.status_code == 201, response.text
        return dict(response.json())

    return make


@pytest.fixture
def deliver(anonymous: httpx.Client) -> Deliver:
    """``deliver(connection, body)``: POST to its webhook URL, signed unless ``headers`` given."""

    def send(
        connection: dict[str, Any],
        body: bytes,
        headers: dict[str, str] | None = None,
        **extra_headers: str,
    ) -> httpx.Response:
        sent = sign(connection["platform"], body) if headers is None else headers
        return anonymous.post(
            connection["webhook_url"],
            content=body,
            headers={"Content-Type": "application/json", **sent, **extra_headers},
        )

    return send


def orders_of(client: httpx.Client) -> list[dict[str, Any]]:
    response = client.get("/api/v1/orders", params={"limit": 100})
    assert response.status_code == 200, response.text
    return list(response.json()["data"])


def deliveries_of(
    client: httpx.Client, connection: dict[str, Any], **params: Any
) -> list[dict[str, Any]]:
    response = client.get(f"/api/v1/integrations/{connection['id']}/deliveries", params=params)
    assert response.status_code == 200, response.text
    return list(response.json()["data"])
