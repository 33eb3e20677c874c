"""Platform sync in the bench (``make bench``, or ``python -m bench.sync`` alone): a local
platform API (``tests/support/platforms.py``) holding 10,000 orders, one server process, and
``POST /integrations/{id}/sync``:

- **poll rate**: orders stored per second by the first reconciliation (all new);
- **a poll with nothing new**: its requests to the platform (the target: one).

Run per platform in ``PLATFORMS`` (Shopify: 250 a page; WooCommerce: 100 a page).
"""

import argparse
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from orderly.auth import service as auth
from orderly.core.db import analyze, migrate, session_factory
from tests.support.platforms import credentials, platform_server

PLATFORMS = ("shopify", "woocommerce")
ORDERS = 10_000
TARGETS = {
    "poll: orders stored per second": "≥ 500",
    "poll with nothing new: requests": "1",
}


@dataclass(frozen=True)
class Figures:
    per_second: dict[str, float]
    idle_requests: dict[str, int]

    def cells(self) -> list[str]:
        rates = ", ".join(f"{p} {r:,.0f}" for p, r in self.per_second.items())
        idle = ", ".join(f"{p} {n}" for p, n in self.idle_requests.items())
        return [rates, idle]


def _client(url: str, base: str, slug: str) -> httpx.Client:
    with session_factory(url)() as session:
        organization = auth.get_or_create_organization(session, slug)
        token = auth.mint_token(session, organization, "bench").secret
        session.commit()
    return httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=600)


def _sync(client: httpx.Client, platform: str, orders: int) -> tuple[float, int]:
    """Orders stored per second by a first sync of ``orders`` new ones, and the requests of
    the sync after it."""
    with platform_server(platform) as server:
        server.add_orders(orders)
        connection_id = client.post("/api/v1/integrations", json={"platform": platform}).json()[
            "id"
        ]
        client.put(
            f"/api/v1/integrations/{connection_id}/credentials", json=credentials(server)
        ).raise_for_status()
        started = time.perf_counter()
        first = client.post(f"/api/v1/integrations/{connection_id}/sync").json()
        elapsed = time.perf_counter() - started
        assert first["created"] == orders, first
        again = client.post(f"/api/v1/integrations/{connection_id}/sync").json()
        return orders / elapsed, int(again["requests"])


def run(url: str, serve: Callable[..., Any], orders: int = ORDERS) -> Figures:
    migrate(url)
    os.environ["ORDERLY_OUTBOUND_ALLOW_PRIVATE"] = "true"  # the platform is on 127.0.0.1
    os.environ["ORDERLY_PLATFORM_SYNC"] = "false"  # the measured run is the one asked for
    # A database in service has orders and planner statistics: an empty one, never analyzed,
    # plans PostgreSQL's foreign-key checks as scans that each connection keeps (measured:
    # 160-170 orders/s on the first 10,000). Warm it as a running shop's is, then measure on
    # fresh connections.
    with serve(url, 1) as base:
        # New organizations each run: a database kept from an earlier run has those orders.
        _sync(_client(url, base, f"sync-warm-up-{time.time_ns()}"), "woocommerce", 1000)
    analyze(url)
    per_second: dict[str, float] = {}
    idle: dict[str, int] = {}
    with serve(url, 1) as base:
        client = _client(url, base, f"sync-bench-{time.time_ns()}")
        for platform in PLATFORMS:
            per_second[platform], idle[platform] = _sync(client, platform, orders)
            print(
                f"    {platform}: {per_second[platform]:,.0f} orders/s,"
                f" nothing new: {idle[platform]} request(s)",
                file=sys.stderr,
                flush=True,
            )
    os.environ.pop("ORDERLY_PLATFORM_SYNC")
    return Figures(per_second, idle)


def print_sync(figures: dict[str, Figures]) -> None:
    backends = list(figures)
    print(
        f"\nPlatform sync: {ORDERS:,} orders on a local platform API, one server process,"
        " POST /integrations/{id}/sync\n"
    )
    print("| case | target |" + "".join(f" {b} |" for b in backends))
    print("|---|---|" + "---|" * len(backends))
    cells = {b: figures[b].cells() for b in backends}
    for index, (case, target) in enumerate(TARGETS.items()):
        print(f"| {case} | {target} |" + "".join(f" {cells[b][index]} |" for b in backends))


def main() -> None:
    from bench.__main__ import database, serve

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--backends", default="sqlite,postgresql")
    args = parser.parse_args()
    figures = {}
    for backend in (b.strip() for b in args.backends.split(",")):
        print(f"{backend}:", file=sys.stderr, flush=True)
        with database(backend, 0) as url:
            figures[backend] = run(url, serve)
    print_sync(figures)


if __name__ == "__main__":
    main()
