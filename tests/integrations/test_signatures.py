"""Every platform's proof of origin: the right one passes, anything else is 401, stored, and
writes no order."""

import base64
import time
from typing import Any

import httpx
import jwt
import pytest

from tests.integrations.conftest import (
    SECRET,
    Connect,
    Deliver,
    deliveries_of,
    fixture_bytes,
    orders_of,
    sign,
)

SAMPLES = {
    "salla": "salla/order.created.json",
    "shopify": "shopify/orders-create.json",
    "woocommerce": "woocommerce/order.created.json",
    "zid": "zid/order.api-detail-response.json",
    "hungerstation": "deliveryhero/order-dispatch.json",
}


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def _jwt(secret: str = SECRET, algorithm: str = "HS512", **claims: Any) -> str:
    return "Bearer " + jwt.encode(claims, secret, algorithm=algorithm)


FORGED: dict[str, dict[str, dict[str, str]]] = {
    "salla": {
        "no signature": {},
        "wrong secret": sign("salla", fixture_bytes(SAMPLES["salla"]), "another-secret-entirely"),
        "token strategy, wrong token": {
            "X-Salla-Security-Strategy": "Token",
            "Authorization": "not-the-secret",
        },
        "unknown strategy": {"X-Salla-Security-Strategy": "Trust-Me"},
    },
    "shopify": {
        "no signature": {},
        "wrong secret": sign("shopify", fixture_bytes(SAMPLES["shopify"]), "another-secret-x"),
        "hex instead of base64": {
            "X-Shopify-Hmac-Sha256": sign("salla", fixture_bytes(SAMPLES["shopify"]))[
                "X-Salla-Signature"
            ]
        },
    },
    "woocommerce": {
        "no signature": {},
        "wrong secret": sign("woocommerce", b"another body"),
    },
    "zid": {
        "no credentials": {},
        "wrong password": {"Authorization": _basic("zid", "not-the-secret")},
        "bearer instead of basic": {"Authorization": f"Bearer {SECRET}"},
        "not base64": {"Authorization": "Basic !!!"},
    },
    "hungerstation": {
        "no token": {},
        "wrong secret": {"Authorization": _jwt("x" * 64, exp=int(time.time()) + 60)},
        "expired": {"Authorization": _jwt(exp=int(time.time()) - 60)},
        "no expiry": {"Authorization": _jwt(service="middleware")},
        "other algorithm": {"Authorization": _jwt(algorithm="HS256", exp=int(time.time()) + 60)},
        "not a jwt": {"Authorization": "Bearer abc.def.ghi"},
    },
}


@pytest.mark.parametrize("platform", list(SAMPLES))
def test_signed_delivery_is_accepted(platform: str, connect: Connect, deliver: Deliver) -> None:
    response = deliver(connect(platform), fixture_bytes(SAMPLES[platform]))

    assert response.status_code == 200, response.text
    assert response.json()["outcome"] == "created"


@pytest.mark.parametrize(
    ("platform", "forgery"), [(p, f) for p, cases in FORGED.items() for f in cases]
)
def test_unverified_delivery_is_refused_and_logged(
    platform: str, forgery: str, api: httpx.Client, connect: Connect, deliver: Deliver
) -> None:
    connection = connect(platform)

    response = deliver(connection, fixture_bytes(SAMPLES[platform]), FORGED[platform][forgery])

    assert response.status_code == 401
    assert response.json()["code"] == 401
    assert response.json()["error"] == "Unauthorized"
    assert orders_of(api) == []
    [logged] = deliveries_of(api, connection)
    assert (logged["verified"], logged["outcome"], logged["order_id"]) == (
        False,
        "unverified",
        None,
    )
    assert logged["error"]


def test_body_changed_after_signing_is_refused(
    api: httpx.Client, connect: Connect, deliver: Deliver
) -> None:
    body = fixture_bytes(SAMPLES["shopify"])
    tampered = body.replace(b'"total_price": "404.95"', b'"total_price": "4.95"')
    assert tampered != body

    response = deliver(connect("shopify"), tampered, sign("shopify", body))

    assert response.status_code == 401
    assert orders_of(api) == []


def test_signature_is_over_the_raw_bytes(connect: Connect, deliver: Deliver) -> None:
    # WooCommerce escapes "/" as "\/": a check over re-serialised JSON would fail this.
    body = fixture_bytes(SAMPLES["woocommerce"]).replace(b"https://", b"https:\\/\\/")

    assert deliver(connect("woocommerce"), body).status_code == 200


def test_salla_token_strategy(api: httpx.Client, connect: Connect, deliver: Deliver) -> None:
    headers = {"X-Salla-Security-Strategy": "Token", "Authorization": SECRET}

    response = deliver(connect("salla"), fixture_bytes(SAMPLES["salla"]), headers)

    assert response.status_code == 200, response.text
    assert len(orders_of(api)) == 1


def test_zid_accepts_any_user_name(connect: Connect, deliver: Deliver) -> None:
    headers = {"Authorization": _basic("merchant-42", SECRET)}

    assert deliver(connect("zid"), fixture_bytes(SAMPLES["zid"]), headers).status_code == 200


def test_generated_secret_verifies(api: httpx.Client, connect: Connect, deliver: Deliver) -> None:
    connection = connect("woocommerce", secret=None)
    body = fixture_bytes(SAMPLES["woocommerce"])

    response = deliver(connection, body, sign("woocommerce", body, connection["secret"]))

    assert response.status_code == 200, response.text


def test_inbox_keeps_no_secret(api: httpx.Client, connect: Connect, deliver: Deliver) -> None:
    connection = connect("zid")
    deliver(connection, fixture_bytes(SAMPLES["zid"]))
    [listed] = deliveries_of(api, connection)

    detail = api.get(f"/api/v1/integrations/{connection['id']}/deliveries/{listed['id']}").json()

    assert detail["headers"]["authorization"] == "Basic [redacted]"
    assert SECRET not in str(detail)
    assert detail["body"] == fixture_bytes(SAMPLES["zid"]).decode()


def test_woocommerce_ping_is_answered_and_writes_nothing(
    api: httpx.Client, connect: Connect, anonymous: httpx.Client
) -> None:
    connection = connect("woocommerce")

    response = anonymous.post(
        connection["webhook_url"],
        content=b"webhook_id=15",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )

    assert response.status_code == 200
    assert orders_of(api) == []
    assert deliveries_of(api, connection) == []


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/webhooks/salla/con_unknown",
        "/api/v1/webhooks/salla/con_abcdefghijkl_abcdefghijklmnop",
        "/api/v1/webhooks/myshop/con_abcdefghijkl_abcdefghijklmnop",
    ],
)
def test_unknown_connection_is_404(path: str, anonymous: httpx.Client) -> None:
    response = anonymous.post(path, content=b"{}")

    assert response.status_code == 404
    assert response.json()["error"] == "Integration not found"


def test_connection_of_another_platform_is_404(
    connect: Connect, anonymous: httpx.Client, api: httpx.Client
) -> None:
    connection = connect("zid")
    body = fixture_bytes(SAMPLES["salla"])
    url = connection["webhook_url"].replace("/zid/", "/salla/")

    response = anonymous.post(url, content=body, headers=sign("salla", body))

    assert response.status_code == 404
    assert deliveries_of(api, connection) == []
