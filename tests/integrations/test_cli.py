"""``orderly integrations add|list``: a connection made on the command line takes webhooks."""

from pathlib import Path

import httpx

from tests.integrations.conftest import fixture_bytes, sign
from tests.support.server import live_server
from tests.test_cli import env, orderly

__all__ = ["env"]  # the fixture, shared with the other CLI tests


def test_add_prints_url_and_secret_that_take_a_webhook(env: dict[str, str], tmp_path: Path) -> None:
    token = orderly("tokens", "create", "--org", "acme", env=env).stdout.strip().splitlines()[-1]
    env = {**env, "ORDERLY_PUBLIC_URL": "https://orders.example.com"}

    added = orderly("integrations", "add", "--org", "acme", "--platform", "woocommerce", env=env)

    assert added.returncode == 0, added.stderr
    printed = dict(line.split(": ", 1) for line in added.stdout.strip().splitlines())
    assert printed["webhook_url"].startswith(
        "https://orders.example.com/api/v1/webhooks/woocommerce/con_"
    )
    listed = orderly("integrations", "list", "--org", "acme", env=env)
    assert printed["webhook_url"].rsplit("/", 1)[1] in listed.stdout
    assert printed["secret"] not in listed.stdout

    body = fixture_bytes("woocommerce/order.created.json")
    with live_server(env["ORDERLY_DATABASE_URL"]) as base:
        path = printed["webhook_url"].removeprefix("https://orders.example.com")
        response = httpx.post(
            base + path, content=body, headers=sign("woocommerce", body, printed["secret"])
        )
        orders = httpx.get(
            f"{base}/api/v1/orders", headers={"Authorization": f"Bearer {token}"}
        ).json()

    assert response.status_code == 200, response.text
    assert [o["external_id"] for o in orders["data"]] == ["727"]


def test_add_refuses_unknown_platform_and_organization(env: dict[str, str]) -> None:
    unknown_platform = orderly(
        "integrations", "add", "--org", "acme", "--platform", "ebay", env=env
    )
    unknown_org = orderly("integrations", "add", "--org", "nobody", "--platform", "zid", env=env)
    short_secret = orderly(
        "integrations", "add", "--org", "acme", "--platform", "zid", "--secret", "abc", env=env
    )

    assert unknown_platform.returncode == 2
    assert unknown_org.returncode == 1
    assert "Organization not found" in unknown_org.stderr
    assert short_secret.returncode == 2
    assert "secret" in short_secret.stderr
