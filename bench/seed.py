"""Seed a database with many realistic orders quickly, straight through the DB driver."""

import gc
import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine

from orderly.core import money
from orderly.core.ids import new_order_id
from orderly.orders.models import LineItemRow, OrderRow, StatusChange
from orderly.orders.service import search_text

FIRST = [
    "Ahmed",
    "Mohammed",
    "Sarah",
    "Fatimah",
    "Omar",
    "Layla",
    "Khalid",
    "Noura",
    "John",
    "Maria",
    "أحمد",
    "محمد",
    "فاطمة",
    "عبدالله",
    "نورة",
    "إسراء",
    "مصطفى",
    "ليلى",
    "خالد",
    "آمنة",
]
LAST = [
    "Hassan",
    "Al-Qahtani",
    "Smith",
    "Al-Harbi",
    "Garcia",
    "Otaibi",
    "الحربي",
    "القحطاني",
    "العتيبي",
    "الشهري",
    "الدوسري",
    "الغامدي",
]
PRODUCTS = [
    "Panadol Extra",
    "Vitamin C",
    "Arabic Coffee 500g",
    "قهوة عربية",
    "تمر سكري",
    "Dates Box",
    "Oud Perfume",
    "عطر عود",
    "Phone Case",
    "Shawarma Meal",
    "وجبة شاورما",
    "Karak Tea",
]
SOURCES = ["salla", "zid", "shopify", "woocommerce", "hungerstation", "manual"]
STATUSES = [
    "pending",
    "confirmed",
    "preparing",
    "ready",
    "shipped",
    "delivered",
    "cancelled",
    "returned",
]
PAYMENTS = ["pending", "paid", "paid", "paid", "refunded", "partially_refunded", "failed"]
FULFILLMENTS = ["unfulfilled", "partially_fulfilled", "fulfilled", "returned"]
START = datetime(2024, 1, 1, tzinfo=UTC)
SPAN_SECONDS = 2 * 365 * 24 * 3600

# Rows below are built in the table's column order.
ORDER_COLUMNS = [c.key for c in OrderRow.__table__.columns]
ITEM_COLUMNS = [c.key for c in LineItemRow.__table__.columns]
HISTORY_COLUMNS = [c.key for c in StatusChange.__table__.columns]


def _units(amount: int) -> int:
    """Whole halalas → storage units."""
    return money.to_storage(money.from_storage(amount * 100))


def fake_orders(
    organization_id: str, count: int, rng: random.Random
) -> Iterator[tuple[list[Any], list[list[Any]], list[list[Any]]]]:
    for n in range(count):
        order_id = new_order_id()
        created = START + timedelta(seconds=rng.randrange(SPAN_SECONDS))
        name = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
        source = rng.choice(SOURCES)
        columns = {
            "customer_name": name,
            "customer_email": f"customer{n}@example.com",
            "customer_phone": f"+9665{rng.randrange(10**7, 10**8)}",
            "external_id": f"{source.upper()}-{n}",
            "external_number": str(100000 + n),
        }
        items, subtotal = [], 0
        for position in range(rng.randint(1, 3)):
            quantity, price = rng.randint(1, 5), rng.randrange(100, 50000)
            subtotal += quantity * price
            items.append(
                [
                    organization_id,
                    order_id,
                    position,
                    f"prd_{rng.randrange(1000):03d}",
                    rng.choice(PRODUCTS),
                    quantity,
                    _units(price),
                    _units(quantity * price),
                    0,  # fulfilled_quantity
                    0,  # returned_quantity
                ]
            )
        tax = subtotal * 15 // 100
        status, payment = rng.choice(STATUSES), rng.choice(PAYMENTS)
        fulfillment = rng.choice(FULFILLMENTS)
        row = [
            organization_id,
            order_id,
            source,
            columns["external_id"],
            columns["external_number"],
            name,
            columns["customer_email"],
            columns["customer_phone"],
            _units(subtotal),
            0,
            _units(tax),
            _units(1000),
            _units(subtotal + tax + 1000),
            0,  # refunded_amount
            "SAR",
            status,
            payment,
            fulfillment,
            None,
            "{}",
            search_text(columns),
            created,
            created,
            None,  # source_updated: only platform webhooks set it
            0,  # record_kinds: no shipments, refunds, returns or notes
        ]
        history = [
            [organization_id, order_id, seq, field, None, value, created, "api"]
            for seq, (field, value) in enumerate(
                [
                    ("status", status),
                    ("payment_status", payment),
                    ("fulfillment_status", fulfillment),
                ],
                start=1,
            )
        ]
        yield row, items, history


def insert_orders(engine: Engine, organization_id: str, count: int, seed: int) -> None:
    rng = random.Random(seed)
    # Millions of short-lived tuples: the cyclic garbage collector would walk the whole heap
    # again and again (in a test process, every object the session holds), for no cycles.
    collecting = gc.isenabled()
    gc.disable()
    raw = engine.raw_connection()
    if engine.dialect.name == "sqlite":
        # Index pages of a growing database in this process's memory: the machines here keep
        # little file cache, and each row's index inserts would read them back from disk.
        raw.cursor().execute("PRAGMA cache_size=-1048576")  # 1 GiB
    try:
        batch: tuple[list[Any], list[Any], list[Any]] = ([], [], [])
        for row, items, history in fake_orders(organization_id, count, rng):
            batch[0].append(row)
            batch[1].extend(items)
            batch[2].extend(history)
            if len(batch[0]) >= 20_000:
                _write(raw, engine.dialect.name, batch)
                batch = ([], [], [])
        _write(raw, engine.dialect.name, batch)
        raw.commit()
    finally:
        if engine.dialect.name == "sqlite":
            raw.cursor().execute("PRAGMA cache_size=-32768")  # the pool's default again
        raw.close()
        if collecting:
            gc.enable()


def _write(raw: Any, dialect: str, batch: tuple[list[Any], list[Any], list[Any]]) -> None:
    """One batch in one transaction: SQLite's connection is in autocommit mode, where each row
    would be a transaction of its own; one transaction for the whole seed would grow the WAL
    past the page cache and slow every later write."""
    if dialect == "sqlite":
        raw.cursor().execute("BEGIN")
    tables = [
        ("orders", ORDER_COLUMNS),
        ("order_line_items", ITEM_COLUMNS),
        ("order_status_history", HISTORY_COLUMNS),
    ]
    cursor = raw.cursor()
    for (table, columns), rows in zip(tables, batch, strict=True):
        if not rows:
            continue
        if dialect == "postgresql":
            with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            placeholders = ", ".join("?" for _ in columns)
            sqlite_rows = [
                [
                    v.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
                    if isinstance(v, datetime)
                    else v
                    for v in row
                ]
                for row in rows
            ]
            cursor.executemany(
                f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({placeholders})", sqlite_rows
            )
    cursor.close()
    raw.commit()
