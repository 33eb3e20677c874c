"""The plain form of an order: how its values leave the database and become the API's text.

Hot paths (the list, documents, export, status changes) read orders as plain rows instead of
ORM objects: money as integer 10^-4 units, times as "YYYY-MM-DD HH:MM:SS.ffffff" UTC text,
statuses as strings. This module owns that form: the SQL projection that makes it (``raw``),
its text in answers and files (``money_text``, ``time_text``), the values keyset cursors hold
(``cursor_value``) and the ``ETag`` (``etag``). ``COLUMNS`` is the one list of an order's
columns; every other list (documents, export, status changes) is derived from it.
"""

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import BigInteger, Enum, String, Table, func, type_coerce

from orderly.core import money
from orderly.core.db import Money, UTCDateTime
from orderly.orders.models import OrderRow

_TABLE = cast(Table, OrderRow.__table__)

# Every column of an order, in the table's order.
COLUMNS: tuple[str, ...] = tuple(column.key for column in _TABLE.columns)
# What is kept for Orderly's own use and never shown: the folded search text, the platform's
# own time of the state held, which kinds of records the order has.
INTERNAL = frozenset({"search_text", "source_updated", "record_kinds"})
# What an order's document, and an export row, are made from.
SHOWN: tuple[str, ...] = tuple(name for name in COLUMNS if name not in INTERNAL)
MONEY: tuple[str, ...] = tuple(c.key for c in _TABLE.columns if isinstance(c.type, Money))
TIMES = ("created", "updated")
# What a status change reads (and locks) of each order: the maintained counts' key and id.
COUNTED = ("status", "payment_status", "fulfillment_status", "source")


def raw(column: Any, dialect: str) -> Any:
    """A column in its cheapest plain form: money as integer units, times as UTC text
    ("YYYY-MM-DD HH:MM:SS.ffffff"), statuses as strings."""
    if isinstance(column.type, Money):
        return type_coerce(column, BigInteger).label(column.key)
    if isinstance(column.type, Enum):  # plain strings, not enum members
        return type_coerce(column, String()).label(column.key)
    if isinstance(column.type, UTCDateTime):
        if dialect == "postgresql":  # the text SQLite stores, made by the server (no datetimes)
            utc = func.timezone("UTC", column)
            return func.to_char(utc, "YYYY-MM-DD HH24:MI:SS.US").label(column.key)
        return type_coerce(column, String()).label(column.key)
    return column


def _fixed(places: int) -> Callable[[int], str]:
    scale = 10 ** (4 - places)
    if places == 0:
        return lambda units: str(units // 10_000)
    pattern = f"{{}}.{{:0{places}d}}"
    return lambda units: pattern.format(units // 10_000, units % 10_000 // scale)


FIXED = {places: _fixed(places) for places in range(5)}


def money_text(units: int, places: int) -> str:
    """Stored units (10^-4) as a plain decimal with the currency's places: 456500, 2 → 45.65."""
    if units < 0:
        return "-" + FIXED[places](-units)
    return FIXED[places](units)


def time_text(value: str | datetime) -> str:
    """ISO 8601 UTC with Z (as the API writes times), from "YYYY-MM-DD HH:MM:SS.ffffff" UTC
    text (or a datetime, as an ORM object holds it)."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    fraction = value[20:26]
    return f"{value[:10]}T{value[11:19]}{'' if fraction.strip('0') == '' else '.' + fraction}Z"


def etag(updated: str | datetime) -> str:
    """An order's ``ETag``: its ``updated`` time as the API writes it, in quotes (a plain row's
    text, a datetime, or the document's own ISO text)."""
    if isinstance(updated, str) and updated.endswith("Z"):
        return f'"{updated}"'
    return f'"{time_text(updated)}"'


def cursor_value(row: Any, sort_field: str) -> Any:
    """The value a keyset cursor holds for a plain row sorted by ``sort_field``."""
    value = getattr(row, sort_field)
    if sort_field in TIMES:
        return datetime.fromisoformat(value).replace(tzinfo=UTC)
    if sort_field in MONEY:
        return money.from_storage(value)
    return value
