"""``orderly events tail``, run as a real process on the test database."""

import json
import os
import subprocess
import sys
import time
from datetime import timedelta

import httpx
from sqlalchemy import update
from sqlalchemy.orm import Session

from orderly.core.db import utc_now
from orderly.events.models import EventRow
from tests.conftest import MakeOrder
from tests.test_cli import orderly


def test_tail_prints_the_events_oldest_first(
    database_url: str, api: httpx.Client, make_order: MakeOrder
) -> None:
    env = {**os.environ, "ORDERLY_DATABASE_URL": database_url}
    order = make_order()
    api.patch(f"/api/v1/orders/{order['id']}/status", json={"status": "confirmed"})
    shown = orderly("events", "tail", "--org", "acme", "--after", "0", "--no-follow", env=env)
    assert shown.returncode == 0, shown.stderr
    lines = shown.stdout.splitlines()
    assert [line.split()[2] for line in lines] == ["order.created", "order.status_changed"]
    assert all(order["id"] in line for line in lines)
    as_json = orderly(
        "events",
        "tail",
        "--org",
        "acme",
        "--no-follow",
        "--json",
        "--type",
        "order.created",
        env=env,
    )
    (event,) = [json.loads(line) for line in as_json.stdout.splitlines()]
    assert event["data"]["order"]["id"] == order["id"]
    refused = orderly("events", "tail", "--org", "acme", "--type", "order.x", env=env)
    assert refused.returncode == 1
    assert "Unknown event type" in refused.stderr


def test_tail_follows_new_events(
    database_url: str, api: httpx.Client, make_order: MakeOrder
) -> None:
    env = {**os.environ, "ORDERLY_DATABASE_URL": database_url}
    make_order()  # makes the organization's feed
    follower = subprocess.Popen(
        [sys.executable, "-m", "orderly.cli", "events", "tail", "--org", "acme"],
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert follower.stdout is not None
        first = follower.stdout.readline()
        assert "order.created" in first
        time.sleep(0.5)
        later = make_order()
        assert later["id"] in follower.stdout.readline()
    finally:
        follower.terminate()
        follower.wait(timeout=10)


def test_prune_removes_events_past_their_retention(
    database_url: str, db: Session, api: httpx.Client, make_order: MakeOrder
) -> None:
    env = {**os.environ, "ORDERLY_DATABASE_URL": database_url}
    old, new = make_order()["id"], make_order()["id"]
    db.execute(
        update(EventRow)
        .where(EventRow.order_id == old)
        .values(occurred_at=utc_now() - timedelta(days=31))
    )
    db.commit()
    pruned = orderly("prune", env=env)
    assert pruned.returncode == 0, pruned.stderr
    assert "1 events" in pruned.stderr
    kept = api.get("/api/v1/events").json()["data"]
    assert [e["order_id"] for e in kept] == [new]
