"""orderly export / import as real processes: round trips, bad rows, flat memory."""

import csv
import io
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from bench.seed import insert_orders
from orderly.auth import service as auth
from orderly.core.db import migrate, session_factory
from tests.conftest import MakeOrder
from tests.export.test_routes import TRICKY
from tests.factories import product


def orderly(*args: str, url: str) -> subprocess.CompletedProcess[bytes]:
    env = {**os.environ, "ORDERLY_DATABASE_URL": url}
    return subprocess.run(
        [sys.executable, "-m", "orderly.cli", *args],
        env=env,
        capture_output=True,
        timeout=300,
        check=False,
    )


@pytest.fixture
def shop(make_order: MakeOrder) -> list[dict[str, Any]]:
    return [
        make_order(
            customer_name=TRICKY,
            external_id="A-1",
            notes='say "hi", then\nleave',
            status="shipped",
            payment_status="paid",
            meta={"gift": True},
        ),
        make_order(
            source="zid",
            currency="KWD",
            total_amount=1,
            tax=None,
            delivery_fee=None,
            products=[product(price=1, quantity=1)],
            customer_phone=None,
        ),
        make_order(source="salla", external_id="S-9", products=[product(), product(name="قهوة")]),
    ]


def without_ids(rows: list[dict[str, Any]], *names: str) -> list[dict[str, Any]]:
    return [
        {k: v for k, v in row.items() if k not in ("id", "organization_id", *names)} for row in rows
    ]


class TestRoundTrip:
    @pytest.mark.parametrize(
        ("fmt", "extra"),
        [
            ("csv", []),
            (
                "csv",
                [
                    "--columns",
                    "id,source,external_id,customer_name,products,meta,"
                    "total_amount,currency,status,created",
                ],
            ),
            ("csv", ["--shape", "line_items"]),
            ("jsonl", []),
        ],
    )
    def test_export_import_export_gives_the_same_rows(
        self,
        shop: list[dict[str, Any]],
        database_url: str,
        tmp_path: Path,
        fmt: str,
        extra: list[str],
    ) -> None:
        first, second = tmp_path / f"first.{fmt}", tmp_path / f"second.{fmt}"
        assert (
            orderly(
                "export",
                "--org",
                "acme",
                "--format",
                fmt,
                "-o",
                str(first),
                *extra,
                url=database_url,
            ).returncode
            == 0
        )
        imported = orderly("import", "--org", "copy", str(first), url=database_url)
        assert imported.returncode == 0, imported.stderr
        assert b"Imported 3 orders" in imported.stderr
        assert (
            orderly(
                "export",
                "--org",
                "copy",
                "--format",
                fmt,
                "-o",
                str(second),
                *extra,
                url=database_url,
            ).returncode
            == 0
        )
        if fmt == "jsonl":
            read = [json.loads(line) for line in first.read_text().splitlines()]
            again = [json.loads(line) for line in second.read_text().splitlines()]
        else:
            read = list(csv.DictReader(io.StringIO(first.read_text(), newline="")))
            again = list(csv.DictReader(io.StringIO(second.read_text(), newline="")))
        assert len(read) >= 3
        assert without_ids(again) == without_ids(read)


class TestExportCommand:
    def test_writes_to_stdout_without_a_progress_bar_when_piped(
        self, shop: list[dict[str, Any]], database_url: str
    ) -> None:
        result = orderly(
            "export", "--org", "acme", "-o", "-", "--status", "shipped", url=database_url
        )
        assert result.returncode == 0
        rows = list(csv.DictReader(io.StringIO(result.stdout.decode())))
        assert [r["external_id"] for r in rows] == ["A-1"]
        assert b"\x1b[" not in result.stderr  # no terminal drawing

    def test_bad_filter_is_reported(self, shop: list[dict[str, Any]], database_url: str) -> None:
        result = orderly("export", "--org", "acme", "-o", "-", "--status", "lost", url=database_url)
        assert result.returncode == 2
        assert b"status" in result.stderr

    def test_each_format_is_written(
        self, shop: list[dict[str, Any]], database_url: str, tmp_path: Path
    ) -> None:
        for fmt, magic in (("xlsx", b"PK"), ("parquet", b"PAR1")):
            target = tmp_path / f"orders.{fmt}"
            assert (
                orderly(
                    "export", "--org", "acme", "--format", fmt, "-o", str(target), url=database_url
                ).returncode
                == 0
            )
            assert target.read_bytes().startswith(magic)


class TestImportCommand:
    def test_bad_rows_are_reported_by_number_and_nothing_is_written(
        self, shop: list[dict[str, Any]], database_url: str, tmp_path: Path, api: httpx.Client
    ) -> None:
        source = tmp_path / "orders.csv"
        assert (
            orderly("export", "--org", "acme", "-o", str(source), url=database_url).returncode == 0
        )
        lines = source.read_bytes().decode().split("\r\n")
        header = lines[0].split(",")
        broken = [lines[0]]
        for number, line in enumerate(lines[1:], start=2):
            if not line:
                continue
            if number == 3:  # the second order: a total that is not a number
                cells = next(csv.reader([line]))
                cells[header.index("total_amount")] = "lots"
                line = ",".join(cells)
            broken.append(line)
        bad = tmp_path / "bad.csv"
        bad.write_bytes(("\r\n".join(broken) + "\r\n").encode())
        result = orderly("import", "--org", "copy", str(bad), url=database_url)
        assert result.returncode == 1
        assert b"row 3: total_amount" in result.stderr
        assert b"nothing was imported" in result.stderr
        listed = orderly("export", "--org", "copy", "-o", "-", url=database_url)
        assert listed.stdout.decode().strip().count("\n") == 0  # header only

    def test_importing_the_same_file_twice_refuses_duplicates(
        self, shop: list[dict[str, Any]], database_url: str, tmp_path: Path
    ) -> None:
        source = tmp_path / "orders.jsonl"
        orderly("export", "--org", "acme", "--format", "jsonl", "-o", str(source), url=database_url)
        result = orderly("import", "--org", "acme", str(source), url=database_url)
        assert result.returncode == 1
        assert b"Order already exists" in result.stderr

    def test_a_line_items_file_with_chosen_columns_is_read_as_line_items(
        self, shop: list[dict[str, Any]], database_url: str, tmp_path: Path, api: httpx.Client
    ) -> None:
        columns = "id,source,product_name,quantity,price,total_amount,currency"
        source = tmp_path / "lines.csv"
        exported = orderly(
            "export", "--org", "acme", "--shape", "line_items", "--columns", columns,
            "-o", str(source), url=database_url,
        )  # fmt: skip
        assert exported.returncode == 0, exported.stderr
        result = orderly("import", "--org", "copy", str(source), url=database_url)
        assert result.returncode == 0, result.stderr
        copied = orderly(
            "export", "--org", "copy", "--format", "jsonl", "-o", "-", url=database_url
        )
        orders = [json.loads(line) for line in copied.stdout.splitlines()]
        lines = sorted(len(order["products"]) for order in orders)
        assert lines == sorted(len(order["products"]) for order in shop)

    @pytest.mark.parametrize(
        ("header", "message"),
        [
            (b"id,source,colour", b"Unknown column(s) colour"),
            (b"source,product_name,quantity,currency", b"needs the id column"),
        ],
    )
    def test_a_header_it_cannot_read_is_refused_before_any_row(
        self, database_url: str, tmp_path: Path, header: bytes, message: bytes
    ) -> None:
        bad = tmp_path / "orders.csv"
        bad.write_bytes(header + b"\r\nx,y,z,w\r\n")
        result = orderly("import", "--org", "copy", str(bad), url=database_url)
        assert result.returncode == 2
        assert result.stderr.strip().splitlines() == [
            next(line for line in result.stderr.strip().splitlines() if message in line)
        ]

    def test_unknown_file_type(self, database_url: str, tmp_path: Path) -> None:
        other = tmp_path / "orders.txt"
        other.write_text("x")
        assert orderly("import", "--org", "copy", str(other), url=database_url).returncode == 2


def peak_rss_mb(args: list[str], url: str) -> float:
    """Run ``orderly`` and return its peak resident memory (VmHWM), in MiB."""
    env = {**os.environ, "ORDERLY_DATABASE_URL": url}
    process = subprocess.Popen(
        [sys.executable, "-m", "orderly.cli", *args],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    peak = 0
    while process.poll() is None:
        try:
            status = Path(f"/proc/{process.pid}/status").read_text()
            line = next(line for line in status.splitlines() if line.startswith("VmHWM"))
            peak = max(peak, int(line.split()[1]))
        except (FileNotFoundError, StopIteration, ProcessLookupError):
            pass
        time.sleep(0.05)
    assert process.returncode == 0, process.stderr.read() if process.stderr else ""
    return peak / 1024


class TestMemory:
    """Memory stays flat however many rows: 30,000 orders cost what 1,000 do, give or take.

    Thirty times the rows shows it (an exporter that held them all would need well over the 60
    MiB allowed); a bigger seed cost three minutes of CI (SQLite's search-index upkeep) and showed
    nothing more. ``make bench-export`` measures a million."""

    @pytest.mark.timeout(900)
    def test_exports_of_many_rows_keep_memory_flat(self, tmp_path: Path) -> None:
        small_url, big_url = (f"sqlite:///{tmp_path / name}" for name in ("small.db", "big.db"))
        for url, count in ((small_url, 1_000), (big_url, 30_000)):
            migrate(url)
            with session_factory(url)() as session:
                organization = auth.get_or_create_organization(session, "acme")
                session.commit()
                organization_id = organization.id
            started = time.monotonic()
            insert_orders(session_factory(url).kw["bind"], organization_id, count, seed=3)
            print(f"seeded {count} in {time.monotonic() - started:.1f} s")
        for fmt in ("csv", "jsonl", "xlsx", "parquet"):
            args = ["export", "--org", "acme", "--format", fmt, "-o", str(tmp_path / f"o.{fmt}")]
            small = peak_rss_mb(args, small_url)
            started = time.monotonic()
            big = peak_rss_mb(args, big_url)
            print(fmt, f"{small:.0f} MiB → {big:.0f} MiB, {time.monotonic() - started:.1f} s")
            assert big < small + 60, (fmt, small, big)
            assert big < 250, (fmt, big)
