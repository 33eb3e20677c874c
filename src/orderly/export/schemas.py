"""Query parameters of an export: the list filters plus format, shape and columns."""

from pydantic import Field, ValidationInfo, field_validator

from orderly.export.columns import Column, Shape, choose
from orderly.export.formats import Format
from orderly.orders.filters import OrderFilters

_TABLES_ONLY = "JSONL writes whole orders; shape and columns are for csv, xlsx and parquet"


def _names(raw: str | None) -> list[str] | None:
    if raw is None or not raw.strip():
        return None
    return [name.strip() for name in raw.split(",") if name.strip()]


class ExportQuery(OrderFilters):
    format: Format = Field(default=Format.CSV, description="csv, jsonl, xlsx or parquet.")
    shape: Shape = Field(
        default=Shape.ORDERS,
        description="orders: a row per order; line_items: a row per line item, with its "
        "order's columns (csv, xlsx, parquet).",
    )
    columns: str | None = Field(
        default=None, max_length=2000, description="Comma-separated columns, in this order."
    )
    bom: bool = Field(default=False, description="CSV: start with a UTF-8 byte order mark (Excel).")

    @field_validator("shape")
    @classmethod
    def _shape_fits_format(cls, shape: Shape, info: ValidationInfo) -> Shape:
        if info.data.get("format") == Format.JSONL and shape != Shape.ORDERS:
            raise ValueError(_TABLES_ONLY)
        return shape

    @field_validator("columns")
    @classmethod
    def _known_columns(cls, raw: str | None, info: ValidationInfo) -> str | None:
        names = _names(raw)
        if names and info.data.get("format") == Format.JSONL:
            raise ValueError(_TABLES_ONLY)
        choose(info.data.get("shape", Shape.ORDERS), names)
        return raw

    @property
    def chosen_columns(self) -> list[Column]:
        return choose(self.shape, _names(self.columns))
