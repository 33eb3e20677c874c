"""Concurrent writers: every request is answered, none with "database is locked"
(webhooks: ``tests/integrations/test_webhooks.py``)."""

from concurrent.futures import ThreadPoolExecutor

import httpx

from tests.factories import order_payload


def test_concurrent_creates_all_succeed(api: httpx.Client) -> None:
    def create(_: int) -> int:
        return api.post("/api/v1/orders", content=order_payload()).status_code

    with ThreadPoolExecutor(16) as pool:
        codes = list(pool.map(create, range(96)))

    assert codes == [201] * 96
    assert api.get("/api/v1/orders").json()["total_count"] == 96
