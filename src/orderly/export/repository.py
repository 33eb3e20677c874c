"""Queries of the export that only PostgreSQL answers: COPY writes the CSV itself."""

from collections.abc import Iterator, Sequence
from typing import Any

from sqlalchemy import BigInteger, ColumnElement, Numeric, case, func, literal, select, type_coerce
from sqlalchemy.orm import Session

from orderly.core import money
from orderly.core.db import Money, UTCDateTime
from orderly.orders.filters import OrderFilters
from orderly.orders.models import OrderRow
from orderly.orders.repository import filtered, ordering, table, where

_ORDERS = table(OrderRow).c


def _places_by_currency() -> ColumnElement[Any]:
    """``currency_places`` as SQL: a CASE over the currencies whose places are not 2."""
    unusual = {
        code: places
        for code in money.priceable_currencies()
        if (places := money.currency_places(code)) != 2
    }
    return case(unusual, value=OrderRow.currency, else_=2)


def _csv_text(column: Any, places: ColumnElement[Any]) -> Any:
    """A column written by PostgreSQL exactly as ``export.service`` writes it in Python."""
    if isinstance(column.type, Money):
        return func.round(type_coerce(column, BigInteger) / literal(10_000, Numeric()), places)
    if isinstance(column.type, UTCDateTime):
        utc = func.timezone("UTC", column)
        micros = func.to_char(utc, "US")
        return func.concat(
            func.to_char(utc, 'YYYY-MM-DD"T"HH24:MI:SS'),
            case((micros == "000000", ""), else_=func.concat(".", micros)),
            "Z",
        )
    return column


def copy_orders_csv(
    session: Session, organization_id: str, filters: OrderFilters, columns: Sequence[str]
) -> Iterator[bytes]:
    """PostgreSQL writes the CSV itself (``COPY … TO STDOUT``), a row per chunk, header first.

    The statement's values are bound client-side by psycopg, never pasted into the SQL.
    """
    places = _places_by_currency()
    found = filtered(organization_id, filters, "postgresql")
    query = (
        select(*(_csv_text(_ORDERS[name], places).label(name) for name in columns))
        .where(*where(found.shape))
        .order_by(*ordering(filters.sort))
    )
    # COPY takes one statement with its values: the IN lists are expanded for these values.
    expanded = query.compile(dialect=session.get_bind().dialect).construct_expanded_state(
        found.values
    )
    cursor = session.connection().connection.cursor()
    statement = f"COPY ({expanded.statement}) TO STDOUT WITH (FORMAT csv, HEADER true)"
    with cursor.copy(statement, expanded.parameters) as copy:
        for chunk in copy:
            yield bytes(chunk)
