"""``make bench-ab BEFORE=<git ref>``: the hot endpoints' throughput of two versions, side by side.

One ``make bench`` run against another says little on a shared machine: the floor itself moves
by half between runs. Here both versions serve at once (each ``orderly serve`` with its own
copy of one seeded SQLite database, the older one migrated down to its own newest revision)
and wrk measures them in turns, case by case, round after round (the order of the two swapped
every round), so that both meet the same noise. Prints the median per case and the change.

    python -m bench.ab --before /path/to/older/checkout --orders 100000 --rounds 5
"""

import argparse
import shutil
import sqlite3
import statistics
import tempfile
from pathlib import Path

from alembic import command

from bench import throughput
from bench.__main__ import DATA, one_order_body, order_ids, seed, serve
from orderly.core.db import alembic_config


def newest_revision(source: Path) -> str:
    versions = source / "src" / "orderly" / "migrations" / "versions"
    return max(path.name.split("_", 1)[0] for path in versions.glob("[0-9]*_*.py"))


def copy_database(path: Path, to: Path) -> None:
    with sqlite3.connect(path) as original, sqlite3.connect(to) as copy:
        original.backup(copy)
    key = path.with_name(path.name + ".key")
    if key.exists():
        shutil.copy2(key, to.with_name(to.name + ".key"))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--before", type=Path, required=True, help="Checkout of the older version.")
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()

    DATA.mkdir(exist_ok=True)  # a fresh clone has no results yet
    after_path = DATA / f"bench-{args.orders}.db"
    token = seed(f"sqlite:///{after_path}", args.orders)
    seeded = after_path
    with tempfile.TemporaryDirectory(dir=DATA) as folder:
        # Both versions serve a fresh copy: the kept file carries the write-ahead log and the
        # wear of earlier runs, which would slow the newer version's writes alone.
        before_path, after_path = Path(folder) / "before.db", Path(folder) / "after.db"
        copy_database(seeded, before_path)
        copy_database(seeded, after_path)
        command.downgrade(alembic_config(f"sqlite:///{before_path}"), newest_revision(args.before))
        ids = order_ids(f"sqlite:///{after_path}", token)
        cases = throughput.hot_cases(ids, one_order_body())
        bulk = throughput.bulk_case()
        bulk_ms: dict[str, list[float]] = {"before": [], "after": []}
        rates: dict[tuple[str, str], list[float]] = {}
        here = Path(__file__).resolve().parent.parent
        with (
            serve(f"sqlite:///{before_path}", args.workers, args.before) as before,
            serve(f"sqlite:///{after_path}", args.workers, here) as after,
        ):
            for round_ in range(args.rounds):
                turns = [("before", before), ("after", after)]
                for case in cases:
                    for version, base in turns if round_ % 2 == 0 else turns[::-1]:
                        rate = throughput.wrk(
                            base, case, token, connections=args.connections, seconds=args.seconds
                        )
                        assert rate.failed == 0, (version, case.name, rate)
                        rates.setdefault((case.name, version), []).append(rate.per_second)
                # A bulk create takes long enough to be timed one at a time.
                for version, base in turns if round_ % 2 == 0 else turns[::-1]:
                    bulk_ms[version] += throughput.timed_posts(base, bulk, token, 3)
                print(f"  round {round_ + 1} of {args.rounds} done", flush=True)

    print(
        f"\nMedian requests/s of {args.rounds} turns of {args.seconds} s each, at"
        f" {args.connections} connections, {args.workers} workers, SQLite, {args.orders:,} orders\n"
    )
    print("| case | before /s | after /s | change |")
    print("|---|---|---|---|")
    for case in cases:
        old = statistics.median(rates[(case.name, "before")])
        new = statistics.median(rates[(case.name, "after")])
        print(f"| {case.name} | {old:,.0f} | {new:,.0f} | {(new - old) / old:+.1%} |")
    old, new = (statistics.median(bulk_ms[v]) for v in ("before", "after"))
    print(f"| {bulk.name}, ms each (median) | {old:,.1f} | {new:,.1f} | {(new - old) / old:+.1%} |")


if __name__ == "__main__":
    main()
