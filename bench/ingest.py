"""Sustained ingestion: concurrent senders of signed webhooks, next to plain ``POST /orders``.

Each sender is a thread with its own keep-alive ``http.client`` connection (far lighter than
httpx, so the client leaves the CPU to the server). Bodies are built and signed before the clock
starts: signing is the platform's work, not ours. Every delivery is a new order, the costlier
case; the five platforms take turns.
"""

import http.client
import random
import statistics
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx

from orderly.core.http import dump_json, parse_json
from tests.factories import order_payload
from tests.integrations.conftest import SECRET, fixture_bytes, sign

Request = tuple[str, bytes, dict[str, str]]  # path, body, headers


def _salla(n: int, document: Any) -> None:
    document["data"]["id"] = 9_000_000_000 + n
    document["data"]["reference_id"] = n


def _shopify(n: int, document: Any) -> None:
    document["id"] = 7_000_000_000_000_000 + n
    document["name"] = f"#B{n}"


def _woocommerce(n: int, document: Any) -> None:
    document["id"] = document["number"] = 5_000_000 + n


def _zid(n: int, document: Any) -> None:
    document["order"]["id"] = 60_000_000 + n
    document["order"]["code"] = f"bench{n}"


def _hungerstation(n: int, document: Any) -> None:
    document["token"] = str(uuid.UUID(int=n))
    document["code"] = f"hs-{n}"


SAMPLES: dict[str, tuple[str, Callable[[int, Any], None]]] = {
    "salla": ("salla/order.created.json", _salla),
    "shopify": ("shopify/orders-create.json", _shopify),
    "woocommerce": ("woocommerce/order.created.json", _woocommerce),
    "zid": ("zid/order.api-detail-response.json", _zid),
    "hungerstation": ("deliveryhero/order-dispatch.json", _hungerstation),
}


def webhook_requests(client: httpx.Client, count: int, offset: int) -> list[Request]:
    """``count`` signed deliveries of new orders, over one connection per platform."""
    paths = {}
    for platform in SAMPLES:
        response = client.post(
            "/api/v1/integrations", json={"platform": platform, "secret": SECRET}
        )
        response.raise_for_status()
        paths[platform] = urlsplit(response.json()["webhook_url"]).path
    templates = {p: parse_json(fixture_bytes(name)) for p, (name, _) in SAMPLES.items()}
    platforms = list(SAMPLES)
    requests = []
    for n in range(offset, offset + count):
        platform = platforms[n % len(platforms)]
        document = templates[platform]
        SAMPLES[platform][1](n, document)
        body = dump_json(document)
        headers = {"Content-Type": "application/json", **sign(platform, body)}
        requests.append((paths[platform], body, headers))
    return requests


def create_requests(token: str, count: int) -> list[Request]:
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}
    return [("/api/v1/orders", order_payload(external_id=None), headers) for _ in range(count)]


@dataclass
class Rate:
    requests: int
    seconds: float
    latencies_ms: list[float]

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds

    def percentile(self, q: float) -> float:
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]

    @property
    def p50(self) -> float:
        return statistics.median(self.latencies_ms)


def send_all(base: str, requests: list[Request], senders: int) -> Rate:
    """Send every request from ``senders`` threads at once; each must answer 2xx."""
    address = urlsplit(base)
    shares = [requests[i::senders] for i in range(senders)]
    latencies: list[list[float]] = [[] for _ in range(senders)]
    failures: list[str] = []
    start = threading.Barrier(senders + 1)

    def sender(index: int) -> None:
        connection = http.client.HTTPConnection(
            address.hostname or "127.0.0.1", address.port, timeout=120
        )
        start.wait()
        for path, body, headers in shares[index]:
            began = time.perf_counter()
            connection.request("POST", path, body=body, headers=headers)
            response = connection.getresponse()
            answer = response.read()
            latencies[index].append((time.perf_counter() - began) * 1000)
            if response.status >= 300 or b'"failed"' in answer:
                failures.append(f"{response.status} {answer[:200]!r}")
        connection.close()

    threads = [threading.Thread(target=sender, args=(i,)) for i in range(senders)]
    for thread in threads:
        thread.start()
    start.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    if failures:
        raise RuntimeError(f"{len(failures)} requests failed, first: {failures[0]}")
    return Rate(len(requests), elapsed, [x for share in latencies for x in share])


def run_ingest(base: str, token: str, count: int, senders: int) -> dict[str, Rate]:
    client = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=60)
    # Fresh order ids on every run: a kept SQLite file already holds the last run's orders.
    offset = random.randrange(10**9)
    send_all(base, webhook_requests(client, 200, offset=offset), senders)
    send_all(base, create_requests(token, 200), senders)
    return {
        "signed webhooks (new orders)": send_all(
            base, webhook_requests(client, count, offset=offset + 1_000), senders
        ),
        "POST /orders (bearer token)": send_all(base, create_requests(token, count), senders),
    }
