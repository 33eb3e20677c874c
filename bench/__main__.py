"""``make bench``: API latency on a seeded database, SQLite and PostgreSQL side by side.

Seeds N orders (default 1,000,000: half in one organization, the rest over nine others), serves
the API with ``orderly serve`` in a separate process, and times real HTTP requests against the
large organization: the API's, then the dashboard's pages for a person signed in to it
(``bench/dashboard.py``). Prints p50/p99 per case, in milliseconds.

Then, on the same server, sustained ingestion: ``--senders`` concurrent clients sending signed
webhooks of new orders (the five platforms in turn), next to the same clients on plain
``POST /orders`` (see ``bench/ingest.py``); outbound webhooks (``bench/webhooks.py``); and
platform sync, a reconciliation of 10,000 orders from a local platform API (``bench/sync.py``).

    python -m bench --orders 1000000 --requests 200 --backends sqlite,postgresql
"""

import argparse
import contextlib
import itertools
import os
import random
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, select, text

from bench import dashboard, records, webhooks
from bench import sync as sync_bench
from bench import throughput as throughput_
from bench.ingest import Rate, run_ingest
from bench.seed import insert_orders
from orderly.auth import service as auth
from orderly.core.db import get_engine, migrate, session_factory
from orderly.orders.models import OrderRow
from tests.factories import order_fields, order_payload
from tests.support.postgres import free_port, postgres_server

DATA = Path(__file__).parent / "results"

# (case, target p50 in ms or None)
TARGETS = {
    "list page 1 (total_count)": 10,
    "list status=delivered": 10,
    "list payment_status=paid": 10,
    "list source=salla": 10,
    "list created_from (recent)": 10,
    "list created_to (old)": 10,
    "search common (احمد)": 50,
    "search rare (email)": 50,
    "list page 1,000 (offset)": None,
    "list page 1,000 (cursor)": 10,
    "get one": 3,
    "create one": None,
    "patch status": 3,
    "bulk create 1,000": 250,
    "create shipment": None,
    "create refund": None,
    "get one (5 shipments, 3 refunds, 20 notes)": None,  # within 1.5× of the bare one
    "get one (bare, same 5 lines)": None,
    **dashboard.TARGETS,
}


RECOUNT = [
    "DELETE FROM order_counts",
    """
INSERT INTO order_counts (organization_id, status, payment_status, fulfillment_status, source,
                          shard, n)
SELECT organization_id, status, payment_status, fulfillment_status, source, 0, count(*)
FROM orders GROUP BY organization_id, status, payment_status, fulfillment_status, source
""",
]


def seed(url: str, total: int) -> str:
    """Seed ``total`` orders unless already there; returns a token of the large organization."""
    migrate(url)
    engine = get_engine(url)
    with session_factory(url)() as session:
        big = auth.get_or_create_organization(session, "big")
        others = [auth.get_or_create_organization(session, f"org{i}") for i in range(1, 10)]
        token = auth.mint_token(session, big, "bench").secret
        session.commit()
        present = session.scalar(select(func.count()).select_from(OrderRow)) or 0
    per_other = (total - total // 2) // len(others)
    if present < total // 2 + per_other * len(others):
        started = time.perf_counter()
        print(f"  seeding {total:,} orders…", file=sys.stderr, flush=True)
        insert_orders(engine, big.id, total // 2, seed=1)
        for index, org in enumerate(others):
            insert_orders(engine, org.id, per_other, seed=index + 2)
        with engine.begin() as connection:  # the seeder bypasses the service: recount
            for statement in RECOUNT:
                connection.execute(text(statement))
        print(f"  seeded in {time.perf_counter() - started:.0f} s", file=sys.stderr, flush=True)
    if engine.dialect.name == "postgresql":
        with engine.connect() as connection:
            connection.execution_options(isolation_level="AUTOCOMMIT").execute(text("VACUUM"))
    return token


@contextlib.contextmanager
def serve(url: str, workers: int = 1, source: Path | None = None) -> Iterator[str]:
    """``orderly serve`` on ``url``; of the source tree at ``source`` (its ``src`` first on the
    path) when given, else of the installed one."""
    port = free_port()
    env = {**os.environ, "ORDERLY_DATABASE_URL": url}
    if source is not None:
        env["PYTHONPATH"] = f"{source / 'src'}{os.pathsep}{source}"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "orderly.cli",
            "serve",
            "--port",
            str(port),
            "--workers",
            str(workers),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        throughput_.wait_until_up(base)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=30)


def timed(call: Callable[[], httpx.Response], repeat: int, warmup: int = 3) -> list[float]:
    for _ in range(warmup):
        call()
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        response = call()
        samples.append((time.perf_counter() - started) * 1000)
        assert response.status_code < 300, response.text[:300]
    return samples


# The sequential case of each throughput case.
SEQUENTIAL = {
    "list page 1": "list page 1 (total_count)",
    "get one": "get one",
    "create one": "create one",
    "patch status": "patch status",
    "create shipment": "create shipment",
    "create refund": "create refund",
    "get one (records)": "get one (5 shipments, 3 refunds, 20 notes)",
    "get one (bare, same lines)": "get one (bare, same 5 lines)",
}


def order_ids(url: str, token: str) -> list[str]:
    """5,000 orders of the large organization, from a random place in it: the bench patches the
    orders it reads, so a fixed set would grow longer histories (and slower reads) run after run
    on a file that is kept between runs."""
    organization_id = "org_" + token.split("_")[1]
    start = "r" + "".join(random.choices("0123456789abcdefghijklmnopqrstuvwxyz", k=3))
    with session_factory(url)() as session:
        query = select(OrderRow.id).where(OrderRow.organization_id == organization_id)
        ids = list(session.scalars(query.where(OrderRow.id >= start).limit(5000)))
        if len(ids) < 5000:  # near the end of the alphabet: take the first ones instead
            ids = list(session.scalars(query.limit(5000)))
        return ids


def one_order_body() -> str:
    return order_payload(**{k: v for k, v in order_fields().items() if k != "external_id"}).decode()


def run_cases(
    base: str, token: str, url: str, repeat: int, prepared: records.Prepared, records_token: str
) -> dict[str, list[float]]:
    client = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=120)
    ids = order_ids(url, token)
    rng = random.Random(7)

    def listing(**params: Any) -> Callable[[], httpx.Response]:
        return lambda: client.get("/api/v1/orders", params=params)

    deep_cursor = client.get("/api/v1/orders", params={"page": 999}).json()["meta"]["next_cursor"]
    # Each patch moves another order (fulfilled on the first pass over them, back on the next),
    # so that no order's history grows run after run on the kept database.
    patches = itertools.count()

    def patch() -> httpx.Response:
        n = next(patches)
        value = ("fulfilled", "unfulfilled")[n // len(ids) % 2]
        path = f"/api/v1/orders/{ids[n % len(ids)]}/status"
        return client.patch(path, json={"fulfillment_status": value})

    bulk_bodies = b"[" + b",".join(order_payload(external_id=None) for _ in range(1000)) + b"]"
    one = one_order_body().encode()
    cases: dict[str, Callable[[], httpx.Response]] = {
        "list page 1 (total_count)": listing(),
        "list status=delivered": listing(status="delivered"),
        "list payment_status=paid": listing(payment_status="paid"),
        "list source=salla": listing(source="salla"),
        "list created_from (recent)": listing(created_from="2025-12-01"),
        "list created_to (old)": listing(created_to="2024-02-01"),
        "search common (احمد)": listing(search="احمد"),
        "search rare (email)": listing(search="customer123456@"),
        "list page 1,000 (offset)": listing(page=1000),
        "list page 1,000 (cursor)": listing(cursor=deep_cursor),
        "get one": lambda: client.get(f"/api/v1/orders/{rng.choice(ids)}"),
        "create one": lambda: client.post("/api/v1/orders", content=one),
        "patch status": patch,
        "bulk create 1,000": lambda: client.post("/api/v1/orders/bulk", content=bulk_bodies),
    }
    records_client = httpx.Client(
        base_url=base, headers={"Authorization": f"Bearer {records_token}"}, timeout=120
    )
    cases.update(records.sequential_cases(records_client, prepared))
    person, csrf = dashboard.signed_in_client(base, url)
    cases.update(dashboard.cases(person, csrf, ids))
    results = {}
    for name, call in cases.items():
        count = max(5, repeat // 20) if name == "bulk create 1,000" else repeat
        results[name] = timed(call, count)
        print(
            f"    {name}: p50 {statistics.median(results[name]):.2f} ms",
            file=sys.stderr,
            flush=True,
        )
    return results


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


@contextlib.contextmanager
def database(backend: str, total: int) -> Iterator[str]:
    if backend == "postgresql":
        with postgres_server() as url:
            yield url
    else:
        DATA.mkdir(exist_ok=True)
        yield f"sqlite:///{DATA / f'bench-{total}.db'}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--senders", type=int, default=16, help="Concurrent ingestion clients.")
    parser.add_argument("--deliveries", type=int, default=4000, help="Per ingestion case.")
    parser.add_argument(
        "--workers", type=int, default=None, help="Worker processes (default: one per core)."
    )
    parser.add_argument("--connections", type=int, default=16, help="wrk connections.")
    parser.add_argument("--seconds", type=int, default=5, help="wrk duration per case.")
    args = parser.parse_args()
    backends = [b.strip() for b in args.backends.split(",")]
    args.workers = args.workers or os.cpu_count() or 1

    table: dict[str, dict[str, list[float]]] = {}
    ingestion: dict[str, dict[str, Rate]] = {}
    outbound: dict[str, webhooks.Figures] = {}
    platform_sync: dict[str, sync_bench.Figures] = {}
    throughput: dict[
        str, dict[str, tuple[throughput_.Rate, throughput_.Rate, throughput_.Rate]]
    ] = {}
    for backend in backends:
        print(f"{backend}:", file=sys.stderr, flush=True)
        with database(backend, args.orders) as url:
            token = seed(url, args.orders)
            with serve(url, args.workers) as base:
                records_token = records.token(url)
                with httpx.Client(
                    base_url=base,
                    headers={"Authorization": f"Bearer {records_token}"},
                    timeout=120,
                ) as client:
                    prepared = records.prepare(client)
                table[backend] = run_cases(base, token, url, args.requests, prepared, records_token)
                cases = throughput_.hot_cases(order_ids(url, token)[:1000], one_order_body())
                throughput[backend] = throughput_.run_throughput(
                    base,
                    token,
                    cases,
                    args.workers,
                    connections=args.connections,
                    seconds=args.seconds,
                )
                throughput[backend] |= throughput_.run_throughput(
                    base,
                    records_token,
                    records.throughput_cases(prepared),
                    args.workers,
                    connections=args.connections,
                    seconds=args.seconds,
                )
                ingestion[backend] = run_ingest(base, token, args.deliveries, args.senders)
            outbound[backend] = webhooks.run(url, serve, args.requests)
            platform_sync[backend] = sync_bench.run(url, serve)

    header = "| case | target p50 |" + "".join(f" {b} p50 | {b} p99 |" for b in backends)
    print(
        f"\n{args.orders:,} orders ({args.orders // 2:,} in the measured organization), "
        f"{args.requests} sequential requests per case, {args.workers} worker(s); times in ms\n"
    )
    print(header)
    print("|---|---|" + "---|---|" * len(backends))
    for case, target in TARGETS.items():
        cells = "".join(
            f" {statistics.median(table[b][case]):.2f} | {percentile(table[b][case], 0.99):.2f} |"
            for b in backends
        )
        print(f"| {case} | {'≤ ' + str(target) if target else '–'} |{cells}")

    print(
        f"\nHot endpoints: sequential latency (ms) and throughput at {args.connections}"
        f" connections (wrk, {args.seconds} s per case), next to the floor: a bare FastAPI app"
        f" on the same server software and {args.workers} worker(s) answering the same bytes\n"
    )
    print(
        "| case |"
        + "".join(
            f" {b} p50 | {b} p99 | {b} /s (1 conn) | {b} /s | floor /s | floor ÷ {b} |"
            f" {b} non-2xx |"
            for b in backends
        )
    )
    print("|---|" + "---|---|---|---|---|---|---|" * len(backends))
    for case in next(iter(throughput.values())):
        cells = ""
        for b in backends:
            alone, ours, floor = throughput[b][case]
            sequential = table[b].get(SEQUENTIAL.get(case, ""), [])
            p50 = f"{statistics.median(sequential):.2f}" if sequential else "–"
            p99 = f"{percentile(sequential, 0.99):.2f}" if sequential else "–"
            ratio = floor.per_second / ours.per_second if ours.per_second else float("inf")
            cells += (
                f" {p50} | {p99} | {alone.per_second:,.0f} | {ours.per_second:,.0f} |"
                f" {floor.per_second:,.0f} | {ratio:.1f}× | {ours.failed + alone.failed} |"
            )
        print(f"| {case} |{cells}")

    print(
        f"\nIngestion: {args.senders} concurrent senders, {args.deliveries:,} requests per case, "
        f"{args.workers} uvicorn worker(s); target for webhooks: ≥ 1,000/s with p99 ≤ 50 ms\n"
    )
    print("| case |" + "".join(f" {b} /s | {b} p50 ms | {b} p99 ms |" for b in backends))
    print("|---|" + "---|---|---|" * len(backends))
    for case in next(iter(ingestion.values())):
        cells = "".join(
            f" {ingestion[b][case].per_second:,.0f} | {ingestion[b][case].p50:.1f} |"
            f" {ingestion[b][case].percentile(0.99):.1f} |"
            for b in backends
        )
        print(f"| {case} |{cells}")
    print_outbound(outbound)
    sync_bench.print_sync(platform_sync)


def print_outbound(outbound: dict[str, "webhooks.Figures"]) -> None:
    backends = list(outbound)
    print(
        "\nEvents and outbound webhooks: one server process (one dispatcher), a local receiver;"
        " 5,000 queued events, then PATCH status paced at 200/s for 10 s\n"
    )
    print("| case | target |" + "".join(f" {b} |" for b in backends))
    print("|---|---|" + "---|" * len(backends))
    cells = {b: outbound[b].cells() for b in backends}
    for index, (case, target) in enumerate(webhooks.TARGETS.items()):
        print(f"| {case} | {target} |" + "".join(f" {cells[b][index]} |" for b in backends))


if __name__ == "__main__":
    main()
