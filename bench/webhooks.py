"""Events and outbound webhooks in the bench (``make bench``), on a server of one worker (one
dispatcher) and a local receiver (``bench/receiver.py``):

- **delivery throughput**: 5,000 events queued while the endpoint is paused, then the time
  until the receiver has had every one of them once it is enabled;
- **commit to delivery**: PATCH status paced at 200 writes/s for 10 s, and per event the time
  from its ``occurred_at`` (taken in the write's transaction) to its arrival;
- **the feed**: ``GET /events?limit=1000``.
"""

import contextlib
import os
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

import httpx

from orderly.auth import service as auth
from orderly.core.db import session_factory
from tests.factories import order_payload
from tests.support.postgres import free_port

TARGETS = {
    "delivery throughput (events/s, one dispatcher)": "≥ 1,000",
    "commit → delivery p50 at 200 writes/s (ms)": "≤ 250",
    "commit → delivery p99 at 200 writes/s (ms)": "≤ 1,000",
    "feed: 1,000 events p50 (ms)": "≤ 20",
}
_EVENTS = 5000
_RATE, _SECONDS = 200, 10


@contextlib.contextmanager
def local_receiver() -> Iterator[str]:
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "bench.receiver:app",
            "--port",
            str(port),
            "--log-level",
            "warning",
            "--no-access-log",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.post(f"{base}/reset")
                break
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=30)


def _arrivals(receiver: str) -> list[tuple[str, float]]:
    return [tuple(pair) for pair in httpx.get(f"{receiver}/stats", timeout=60).json()]


def _wait_for(receiver: str, count: int, timeout: float = 300) -> list[tuple[str, float]]:
    deadline = time.monotonic() + timeout
    while True:
        arrivals = _arrivals(receiver)
        if len({webhook_id for webhook_id, _ in arrivals}) >= count:
            return arrivals
        assert time.monotonic() < deadline, f"{len(arrivals)} of {count} arrived"
        time.sleep(0.05)


@dataclass(frozen=True)
class Figures:
    per_second: float
    p50_ms: float
    p99_ms: float
    feed_p50_ms: float

    def cells(self) -> list[str]:
        return [
            f"{self.per_second:,.0f}",
            f"{self.p50_ms:.0f}",
            f"{self.p99_ms:.0f}",
            f"{self.feed_p50_ms:.2f}",
        ]


def run(url: str, serve: object, requests: int) -> Figures:
    """The three measures on ``url`` (``serve``: ``bench.__main__.serve``)."""
    with session_factory(url)() as session:
        organization = auth.get_or_create_organization(session, "hooks")
        token = auth.mint_token(session, organization, "bench").secret
        session.commit()
    os.environ["ORDERLY_OUTBOUND_ALLOW_PRIVATE"] = "true"  # the receiver is on 127.0.0.1
    with local_receiver() as receiver, serve(url, 1) as base:  # type: ignore[operator]
        client = httpx.Client(
            base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=120
        )
        endpoint = client.post(
            "/api/v1/webhook-endpoints", json={"url": f"{receiver}/hooks", "enabled": False}
        ).json()
        bulk = b"[" + b",".join(order_payload(external_id=None) for _ in range(1000)) + b"]"
        ids: list[str] = []
        for _ in range(_EVENTS // 1000):
            made = client.post("/api/v1/orders/bulk", content=bulk)
            made.raise_for_status()
            ids += made.json()["data"]["ids"].values()
        started = time.perf_counter()
        client.patch(f"/api/v1/webhook-endpoints/{endpoint['id']}", json={"enabled": True})
        _wait_for(receiver, _EVENTS)
        per_second = _EVENTS / (time.perf_counter() - started)
        print(f"    delivery: {per_second:,.0f} events/s", file=sys.stderr, flush=True)

        httpx.post(f"{receiver}/reset")
        latencies = _paced_writes(base, token, ids, receiver)
        p50, p99 = statistics.median(latencies), _percentile(latencies, 0.99)
        print(f"    commit → delivery: p50 {p50:.0f} ms, p99 {p99:.0f} ms", file=sys.stderr)

        feed = []
        for _ in range(max(requests // 4, 10)):
            started = time.perf_counter()
            page = client.get("/api/v1/events", params={"limit": 1000})
            feed.append((time.perf_counter() - started) * 1000)
            assert page.json()["count"] == 1000
        client.delete(f"/api/v1/webhook-endpoints/{endpoint['id']}")
    return Figures(per_second, p50, p99, statistics.median(feed))


def _paced_writes(base: str, token: str, ids: list[str], receiver: str) -> list[float]:
    """PATCH status at ``_RATE`` a second for ``_SECONDS``; the commit-to-arrival times (ms)."""
    total = _RATE * _SECONDS
    start = time.monotonic() + 0.5
    slots = iter(range(total))
    lock = threading.Lock()

    def write() -> None:
        with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}) as client:
            while True:
                with lock:
                    n = next(slots, None)
                if n is None:
                    return
                time.sleep(max(0.0, start + n / _RATE - time.monotonic()))
                value = ("fulfilled", "unfulfilled")[n // len(ids) % 2]
                client.patch(
                    f"/api/v1/orders/{ids[n % len(ids)]}/status",
                    json={"fulfillment_status": value},
                ).raise_for_status()

    writers = [threading.Thread(target=write) for _ in range(8)]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join()
    return [seconds * 1000 for _, seconds in _wait_for(receiver, total)]


def _percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]
