"""``orderly integrations add|list``: a connection made on the command line takes webhooks."""

from datetime import timedelta
from pathlib import Path

import httpx
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from orderly.core.db import get_engine, utc_now
from orderly.integrations.models import DeliveryRow
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


def test_prune_applies_the_inbox_retention(env: dict[str, str]) -> None:
    orderly("tokens", "create", "--org", "acme", env=env)
    added = orderly("integrations", "add", "--org", "acme", "--platform", "salla", env=env)
    printed = dict(line.split(": ", 1) for line in added.stdout.strip().splitlines())
    body = fixture_bytes("salla/order.created.json")
    with live_server(env["ORDERLY_DATABASE_URL"]) as base:
        path = "/api/v1/webhooks/" + printed["webhook_url"].split("/api/v1/webhooks/", 1)[1]
        for forged in (False, True, False, True):
            headers = (
                {"X-Salla-Signature": "forged"}
                if forged
                else sign("salla", body, printed["secret"])
            )
            httpx.post(base + path, content=body, headers=headers)
    engine = get_engine(env["ORDERLY_DATABASE_URL"])
    with Session(engine) as session:
        ages = iter([40, 10, 5, 8])  # days: processed 40 and 5, unverified 10 and 8
        for delivery_id in session.scalars(select(DeliveryRow.id).order_by(DeliveryRow.received)):
            session.execute(
                update(DeliveryRow)
                .where(DeliveryRow.id == delivery_id)
                .values(received=utc_now() - timedelta(days=next(ages)))
            )
        session.commit()

    pruned = orderly("prune", env=env)

    assert pruned.returncode == 0, pruned.stderr
    assert "Removed 1 processed and 2 unverified" in pruned.stderr
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(DeliveryRow)) == 1
