"""Done means an ERP can rebuild every order exactly from what it is told: from the feed, and
from webhooks to a receiver that was down while the orders changed (both engines)."""

import time
from typing import Any

import httpx

from tests.conftest import MakeOrder
from tests.support.receiver import Answer, receiver

ORDERS = "/api/v1/orders"


def change_some_orders(api: httpx.Client, make_order: MakeOrder) -> list[str]:
    ids = [make_order()["id"] for _ in range(4)]
    api.patch(f"{ORDERS}/{ids[0]}/status", json={"status": "confirmed"})
    api.post(f"{ORDERS}/{ids[1]}/shipments", json={"lines": [{"line": 1, "quantity": 2}]})
    api.post(f"{ORDERS}/{ids[1]}/notes", json={"text": "Left with the neighbour"})
    api.post(f"{ORDERS}/{ids[2]}/refunds", json={"amount": 5, "reason": "late"})
    api.delete(f"{ORDERS}/{ids[3]}")
    api.patch(f"{ORDERS}/{ids[0]}/status", json={"status": "preparing"})
    return ids


def rebuild(events: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """What an ERP keeps: each order as its latest event shows it; deleted ones removed."""
    orders: dict[str, dict[str, Any]] = {}
    for event in sorted(events, key=lambda e: e["sequence"]):
        if event["type"] == "order.deleted":
            orders.pop(event["order_id"], None)
        else:
            orders[event["order_id"]] = event["data"]["order"]
    return orders


def current(api: httpx.Client, ids: list[str]) -> dict[str, dict[str, Any]]:
    found = {}
    for order_id in ids:
        response = api.get(f"{ORDERS}/{order_id}")
        if response.status_code == 200:
            found[order_id] = response.json()
    return found


def test_the_feed_rebuilds_every_order(api: httpx.Client, make_order: MakeOrder) -> None:
    ids = change_some_orders(api, make_order)
    events, after = [], 0
    while True:
        page = api.get("/api/v1/events", params={"after": after, "limit": 3}).json()
        events += page["data"]
        after = page["meta"]["next_cursor"]
        if not page["has_next"]:
            break
    assert rebuild(events) == current(api, ids)


def test_webhooks_to_a_receiver_that_was_down_rebuild_every_order(
    api: httpx.Client, make_order: MakeOrder
) -> None:
    back_at = time.monotonic() + 3  # down for the first 3 seconds, while the orders change
    with receiver(lambda r, h: Answer(503) if time.monotonic() < back_at else Answer(200)) as erp:
        api.post("/api/v1/webhook-endpoints", json={"url": erp.url})
        ids = change_some_orders(api, make_order)
        committed = api.get("/api/v1/events", params={"limit": 1000}).json()["data"]
        assert time.monotonic() < back_at, "the changes took longer than the outage"
        erp.wait_for_ids({event["id"] for event in committed}, timeout=60)
        unique = {event["id"]: event for event in erp.events()}
    assert erp.failed  # it was down: deliveries were refused before they got through
    assert set(unique) == {event["id"] for event in committed}
    assert rebuild(list(unique.values())) == current(api, ids)


def test_the_dispatcher_never_holds_up_the_api(api: httpx.Client, make_order: MakeOrder) -> None:
    with receiver(lambda r, h: Answer(200, delay=1.5)) as slow:
        api.post("/api/v1/webhook-endpoints", json={"url": slow.url})
        for _ in range(5):
            make_order()
        time.sleep(0.2)  # the deliveries are under way, each waiting 1.5 s for its answer
        started = time.monotonic()
        make_order()
        assert api.get("/healthz").status_code == 200
        assert time.monotonic() - started < 1.0  # answered while every delivery still waits
        slow.wait_for(6, timeout=30)
