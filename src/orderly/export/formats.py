"""File formats: each turns batches of rows (or documents) into bytes, as they come."""

import csv
import io
import os
import tempfile
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any, Protocol

from orderly.core.http import dump_json
from orderly.export.columns import Column, Kind


class Format(StrEnum):
    CSV = "csv"
    JSONL = "jsonl"
    XLSX = "xlsx"
    PARQUET = "parquet"


MEDIA_TYPES = {
    Format.CSV: "text/csv; charset=utf-8",
    Format.JSONL: "application/x-ndjson",
    Format.XLSX: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    Format.PARQUET: "application/vnd.apache.parquet",
}


class TableWriter(Protocol):
    def header(self) -> bytes: ...
    def write(self, rows: list[list[Any]]) -> bytes: ...
    def finish(self) -> Iterator[bytes]: ...


# Rows arrive with money and times as canonical text (see export.service); JSON values as data.
def _json_text(value: Any) -> str | None:
    return None if value is None else dump_json(value).decode()


def _utc(text: str) -> datetime:
    return datetime.fromisoformat(text.removesuffix("Z")).replace(tzinfo=UTC)


UTF8_BOM = "\ufeff".encode()


class CsvWriter:
    """RFC 4180: comma-separated, CRLF line ends, fields quoted when they need it."""

    def __init__(self, columns: list[Column], *, bom: bool = False) -> None:
        self.columns, self.bom = columns, bom
        self._buffer = io.StringIO()
        self._csv = csv.writer(self._buffer, lineterminator="\r\n")

    def _drain(self) -> bytes:
        text = self._buffer.getvalue()
        self._buffer.seek(0)
        self._buffer.truncate()
        return text.encode()

    def header(self) -> bytes:
        self._csv.writerow([c.name for c in self.columns])
        # The byte order mark is what makes Excel read UTF-8 (Arabic names) correctly.
        return (UTF8_BOM if self.bom else b"") + self._drain()

    def write(self, rows: list[list[Any]]) -> bytes:
        json_columns = [i for i, c in enumerate(self.columns) if c.kind == Kind.JSON]
        for row in rows:
            for index in json_columns:
                row[index] = _json_text(row[index])
        self._csv.writerows(rows)  # None is written as an empty field
        return self._drain()

    def finish(self) -> Iterator[bytes]:
        return iter(())


class XlsxWriter:
    """A real workbook with typed cells, written in constant memory to a temporary file."""

    def __init__(self, columns: list[Column]) -> None:
        import xlsxwriter

        self.columns = columns
        handle, self._path = tempfile.mkstemp(suffix=".xlsx")
        os.close(handle)
        self._book = xlsxwriter.Workbook(self._path, {"constant_memory": True})
        self._sheet = self._book.add_worksheet("orders")
        self._formats = {
            Kind.TIMESTAMP: self._book.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"}),
            Kind.MONEY: self._book.add_format({"num_format": "#,##0.00##"}),
        }
        self._row = 0
        self._writers = self._cell_writers()

    def header(self) -> bytes:
        bold = self._book.add_format({"bold": True})
        for index, column in enumerate(self.columns):
            self._sheet.write_string(0, index, column.name, bold)
        self._sheet.freeze_panes(1, 0)
        return b""

    def _cell_writers(self) -> list[Callable[[int, int, Any], Any]]:
        sheet, money_format = self._sheet, self._formats[Kind.MONEY]
        time_format = self._formats[Kind.TIMESTAMP]
        by_kind: dict[Kind, Callable[[int, int, Any], Any]] = {
            # Excel numbers are binary floats; the exact text is kept in CSV/JSONL/Parquet.
            Kind.MONEY: lambda r, c, v: sheet.write_number(r, c, float(v), money_format),
            Kind.INTEGER: sheet.write_number,
            # Excel has no time zones: UTC wall time.
            Kind.TIMESTAMP: lambda r, c, v: sheet.write_datetime(
                r, c, _utc(v).replace(tzinfo=None), time_format
            ),
            Kind.JSON: lambda r, c, v: sheet.write_string(r, c, _json_text(v)),
            Kind.TEXT: sheet.write_string,
        }
        return [by_kind[column.kind] for column in self.columns]

    def write(self, rows: list[list[Any]]) -> bytes:
        writers = self._writers
        for values in rows:
            self._row += 1
            row = self._row
            for index, value in enumerate(values):
                if value is not None:
                    writers[index](row, index, value)
        return b""

    def finish(self) -> Iterator[bytes]:
        try:
            self._book.close()
            with open(self._path, "rb") as workbook:
                while chunk := workbook.read(1 << 20):
                    yield chunk
        finally:
            os.unlink(self._path)


class _Drain(io.RawIOBase):
    """A write-only stream whose bytes are taken out as they are written."""

    def __init__(self) -> None:
        self._chunks: list[bytes] = []
        self._position = 0

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        chunk = bytes(data)
        self._chunks.append(chunk)
        self._position += len(chunk)
        return len(chunk)

    def tell(self) -> int:
        return self._position

    def take(self) -> bytes:
        data, self._chunks = b"".join(self._chunks), []
        return data


def _arrow_type(kind: Kind) -> Any:
    import pyarrow as pa  # imported when needed: it weighs ~50 MB of memory

    return {
        Kind.TEXT: pa.string(),
        Kind.MONEY: pa.decimal128(18, 4),
        Kind.INTEGER: pa.int64(),
        Kind.TIMESTAMP: pa.timestamp("us", tz="UTC"),
        Kind.JSON: pa.string(),
    }[kind]


class ParquetWriter:
    """Typed columns (decimal money, UTC timestamps), one row group per batch."""

    def __init__(self, columns: list[Column]) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        self._pa = pa
        self.columns = columns
        self._types = [_arrow_type(c.kind) for c in columns]
        self._schema = pa.schema(
            [pa.field(c.name, t) for c, t in zip(columns, self._types, strict=True)]
        )
        self._sink = _Drain()
        self._writer = pq.ParquetWriter(self._sink, self._schema, compression="zstd")

    def header(self) -> bytes:
        return self._sink.take()

    def write(self, rows: list[list[Any]]) -> bytes:
        if not rows:
            return b""
        arrays = []
        for index, column in enumerate(self.columns):
            values: Iterable[Any] = (row[index] for row in rows)
            if column.kind == Kind.JSON:
                values = (_json_text(v) for v in values)
            elif column.kind == Kind.MONEY:
                values = (None if v is None else Decimal(v) for v in values)
            elif column.kind == Kind.TIMESTAMP:
                values = (None if v is None else _utc(v) for v in values)
            arrays.append(self._pa.array(list(values), type=self._types[index]))
        self._writer.write_table(self._pa.Table.from_arrays(arrays, schema=self._schema))
        return self._sink.take()

    def finish(self) -> Iterator[bytes]:
        self._writer.close()
        yield self._sink.take()


def table_writer(fmt: Format, columns: list[Column], *, bom: bool = False) -> TableWriter:
    if fmt == Format.CSV:
        return CsvWriter(columns, bom=bom)
    if fmt == Format.XLSX:
        return XlsxWriter(columns)
    if fmt == Format.PARQUET:
        return ParquetWriter(columns)
    raise ValueError(f"{fmt} is not a table format")


def stream(writer: TableWriter, batches: Iterable[list[list[Any]]]) -> Iterator[bytes]:
    """The whole file: header, every batch, then whatever the format writes last."""
    yield writer.header()
    for batch in batches:
        if chunk := writer.write(batch):
            yield chunk
    yield from writer.finish()
