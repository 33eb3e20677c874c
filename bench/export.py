"""``python -m bench.export``: export throughput and peak memory, next to the database's floor.

Exports the large organization (half of the seeded orders) in every format, over the API and
with the CLI, and prints orders/s and peak RSS. The floor is the database alone producing the
same columns: ``COPY (SELECT …) TO STDOUT WITH CSV`` on PostgreSQL, a bare SELECT on SQLite.
"""

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psycopg
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from bench.__main__ import database, seed, serve
from orderly.core.db import get_engine, session_factory
from orderly.export.columns import ORDER_COLUMNS
from orderly.orders.models import OrderRow
from tests.export.test_cli import peak_rss_mb

FORMATS = ("csv", "jsonl", "xlsx", "parquet")
TARGETS = {
    "csv": "≥ 200,000/s, ≤ 3× floor",
    "jsonl": "≥ 100,000/s",
    "xlsx": "≥ 40,000/s",
    "parquet": "–",
}


def floor(url: str, organization_id: str) -> float:
    """Seconds for the database alone to produce the default export columns."""
    names = ", ".join(c.name for c in ORDER_COLUMNS)
    query = (
        f"SELECT {names} FROM orders WHERE organization_id = '{organization_id}' "
        "ORDER BY created DESC, id DESC"
    )
    started = time.perf_counter()
    if url.startswith("postgres"):
        plain_url = make_url(url).set(drivername="postgresql").render_as_string(False)
        with (
            psycopg.connect(plain_url) as connection,
            connection.cursor().copy(f"COPY ({query}) TO STDOUT WITH CSV") as copy,
        ):
            for _ in copy:
                pass
    else:
        raw = get_engine(url).raw_connection()
        cursor = raw.cursor()
        cursor.execute(query)
        while cursor.fetchmany(10_000):
            pass
        raw.close()
    return time.perf_counter() - started


def peak_of(pid: int) -> float:
    """Peak resident memory (VmHWM) of a running process, in MiB."""
    status = Path(f"/proc/{pid}/status").read_text().splitlines()
    return int(next(line for line in status if line.startswith("VmHWM")).split()[1]) / 1024


def table_row(*cells: object) -> str:
    return "| " + " | ".join(str(cell) for cell in cells) + " |"


def api_rate(base: str, token: str, fmt: str) -> tuple[float, int]:
    started = time.perf_counter()
    size = 0
    with httpx.stream(
        "GET",
        f"{base}/api/v1/orders/export",
        params={"format": fmt},
        headers={"Authorization": f"Bearer {token}"},
        timeout=600,
    ) as response:
        for chunk in response.iter_bytes():
            size += len(chunk)
    return time.perf_counter() - started, size


def organization_size(url: str, organization_id: str) -> int:
    with session_factory(url)() as session:
        query = select(func.count()).select_from(OrderRow)
        return session.scalar(query.where(OrderRow.organization_id == organization_id)) or 0


def measure(backend: str, url: str, token: str) -> list[str]:
    organization_id = "org_" + token.split("_")[1]
    count = organization_size(url, organization_id)
    floor_seconds = floor(url, organization_id)
    lines = [
        table_row(
            backend, "floor (database alone)", f"{count / floor_seconds:,.0f}", "1.0×", "–", "–"
        )
    ]

    def record(what: str, seconds: float, rss: str, fmt: str) -> None:
        lines.append(
            table_row(
                backend,
                what,
                f"{count / seconds:,.0f}",
                f"{seconds / floor_seconds:.1f}×",
                rss,
                TARGETS[fmt],
            )
        )
        print(lines[-1], file=sys.stderr, flush=True)

    with serve(url) as base:
        port = base.rsplit(":", 1)[1]
        server = int(subprocess.check_output(["pgrep", "-f", f"serve --port {port}"]).split()[0])
        for fmt in FORMATS:
            seconds, _ = api_rate(base, token, fmt)
            record(f"API {fmt}", seconds, f"{peak_of(server):.0f} (server, so far)", fmt)
    for fmt in FORMATS:
        target = f"/tmp/bench-export.{fmt}"
        started = time.perf_counter()
        rss = peak_rss_mb(["export", "--org", "big", "--format", fmt, "-o", target], url)
        record(f"CLI {fmt}", time.perf_counter() - started, f"{rss:.0f}", fmt)
        os.unlink(target)
    return lines


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--backends", default="sqlite,postgresql")
    args = parser.parse_args()
    lines = []
    for backend in args.backends.split(","):
        with database(backend, args.orders) as url:
            lines += measure(backend, url, seed(url, args.orders))
    print(f"\nExport of the large organization ({args.orders // 2:,} orders), one run each\n")
    print("| engine | what | orders/s | time vs floor | peak RSS MiB | target |")
    print("|---|---|---|---|---|---|")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
