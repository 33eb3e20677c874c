"""/metrics counts events written, delivery attempts by outcome, and the outbound queue."""

import re
import time

import httpx

from tests.conftest import MakeOrder
from tests.support.receiver import Answer, receiver


def metric(text: str, name: str) -> float:
    found = re.search(rf"^{re.escape(name)} ([0-9.e+]+)$", text, re.MULTILINE)
    return float(found.group(1)) if found else 0.0


def test_events_attempts_and_the_queue_are_counted(
    api: httpx.Client, anonymous: httpx.Client, make_order: MakeOrder
) -> None:
    before = anonymous.get("/metrics").text
    with receiver(lambda r, h: Answer(500) if r.requests == 1 else Answer(200)) as hook:
        api.post("/api/v1/webhook-endpoints", json={"url": hook.url, "enabled": False})
        make_order()
        make_order()
        time.sleep(0.3)
        waiting = anonymous.get("/metrics").text
        # Paused: nothing queued for it yet, so the queue holds nothing of it.
        assert metric(waiting, "orderly_events_written_total") == (
            metric(before, "orderly_events_written_total") + 2
        )
        endpoint = api.get("/api/v1/webhook-endpoints").json()["data"][0]
        api.patch(f"/api/v1/webhook-endpoints/{endpoint['id']}", json={"enabled": True})
        hook.wait_for(2)
    after = anonymous.get("/metrics").text
    delivered = 'orderly_outbound_webhook_attempts_total{outcome="delivered"}'
    failed = 'orderly_outbound_webhook_attempts_total{outcome="failed"}'
    assert metric(after, delivered) >= metric(before, delivered) + 2
    assert metric(after, failed) >= metric(before, failed) + 1
    assert "orderly_outbound_webhook_queue_depth" in after
    assert "orderly_outbound_webhook_oldest_seconds" in after
