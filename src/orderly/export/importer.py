"""Read back what export wrote (CSV of either shape, or JSONL) and import it into an organization.

An import is all or nothing: a first pass checks every row and reports each bad one by its row
number; only a file without errors is written, in one transaction.
"""

import csv
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from itertools import islice
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from orderly.auth.models import Organization
from orderly.core.http import parse_json
from orderly.export.columns import AVAILABLE, LINE_COLUMNS, Kind, Shape
from orderly.orders import service

BATCH_SIZE = 1000
_KINDS = {name: column.kind for name, column in AVAILABLE[Shape.LINE_ITEMS].items()}
_LINE_NAMES = {c.name for c in LINE_COLUMNS}


class UnreadableRow(ValueError):
    pass


@dataclass
class ImportOutcome:
    imported: int = 0
    errors: dict[int, str] = field(default_factory=dict)


def _cell(name: str, text: str) -> Any:
    if text == "":
        return None
    kind = _KINDS.get(name, Kind.TEXT)
    try:
        if kind == Kind.MONEY:
            return Decimal(text)
        if kind == Kind.INTEGER:
            return int(text)
        if kind == Kind.JSON:
            return parse_json(text)
    except (InvalidOperation, ValueError) as exc:
        raise UnreadableRow(f"{name}: cannot read {text[:40]!r}") from exc
    return text


def _csv_records(path: Path) -> Iterator[tuple[int, Any]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        by_line = _check_header([name for name in reader.fieldnames or () if name])
        current: tuple[int, dict[str, Any]] | None = None
        # Rows are numbered as a spreadsheet shows them: the header is row 1.
        for row, record in enumerate(reader, start=2):
            try:
                values = {name: _cell(name, text or "") for name, text in record.items() if name}
            except UnreadableRow as exc:
                yield row, exc
                continue
            values.pop("items_count", None)
            if not by_line:
                yield row, values
                continue
            # shape=line_items: consecutive rows of one order id make one order.
            line = {name: values.pop(name, None) for name in _LINE_NAMES}
            if current is None or current[1].get("id") != values.get("id"):
                if current is not None:
                    yield current
                current = (row, {**values, "products": []})
            if line["quantity"] is not None:
                current[1]["products"].append(
                    {
                        "product_id": line["product_id"],
                        "name": line["product_name"],
                        "quantity": line["quantity"],
                        "price": line["price"],
                        "total": line["line_total"],
                    }
                )
        if current is not None:
            yield current


def _check_header(header: list[str]) -> bool:
    """Refuse, before any row, a header this import cannot read; returns whether the file has
    a row per line item (any line-item column: an export with ``shape=line_items``, whatever
    columns it chose)."""
    unknown = [name for name in header if name not in _KINDS]
    if unknown:
        raise UnreadableRow(
            f"Unknown column(s) {', '.join(unknown)}: an import reads the columns export writes"
        )
    by_line = any(name in _LINE_NAMES for name in header)
    if by_line and "id" not in header:
        raise UnreadableRow(
            "A file with line-item columns needs the id column: it says which lines make one order"
        )
    return by_line


def _jsonl_records(path: Path) -> Iterator[tuple[int, Any]]:
    with path.open("rb") as handle:
        for row, line in enumerate(handle, start=1):
            if line.strip():
                try:
                    yield row, parse_json(line)
                except ValueError as exc:
                    yield row, UnreadableRow(f"not JSON: {exc}")


def records(path: Path) -> Iterator[tuple[int, Any]]:
    """(row number, order record) for each order in the file; unreadable rows as exceptions."""
    if path.suffix.lower() == ".jsonl":
        return _jsonl_records(path)
    if path.suffix.lower() == ".csv":
        return _csv_records(path)
    raise UnreadableRow("Import reads .csv and .jsonl files")


def _batches(path: Path) -> Iterator[list[tuple[int, Any]]]:
    rows = records(path)
    while batch := list(islice(rows, BATCH_SIZE)):
        yield batch


def import_file(
    session: Session,
    organization: Organization,
    path: Path,
    on_progress: Callable[[int], None] | None = None,
) -> ImportOutcome:
    outcome = ImportOutcome()
    seen: dict[tuple[str, str], int] = {}  # external ids by the row that named them first
    for batch in _batches(path):
        readable = []
        for row, record in batch:
            if isinstance(record, Exception):
                outcome.errors[row] = str(record)
            else:
                readable.append((row, record))
        outcome.errors.update(service.check_import(session, organization, readable, seen))
        if on_progress:
            on_progress(len(batch))
    if outcome.errors:
        return outcome
    seen.clear()
    for batch in _batches(path):
        outcome.imported += service.import_batch(session, organization, batch, seen)
        if on_progress:
            on_progress(len(batch))
    return outcome
