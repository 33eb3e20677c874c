"""Hot reads run on the driver's own cursor, with SQL that SQLAlchemy compiled once.

SQLAlchemy's execution of a cached statement (cache key, expanding ``IN`` lists, execution
context, events, result wrapping) costs about 75 µs per statement on this machine, where SQLite
answers a primary-key read in 9 µs. The reads every request makes (an order, its line items
and history, a list page, its total) therefore go through ``DirectQuery``: the statement is
still built with SQLAlchemy Core and compiled by SQLAlchemy for the connection's dialect, once;
each run only fills in the values and calls the driver. Values are converted by their column
types exactly as SQLAlchemy would convert them, both ways.

It runs on the session's own connection, so it is inside the request's transaction (and on
PostgreSQL sees and takes the same locks). Driver errors become SQLAlchemy's, and a connection
the server dropped is discarded from the pool, as SQLAlchemy's own execution does.
"""

import re
from collections import namedtuple
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Dialect, Insert, Select, Table, bindparam, exc, insert
from sqlalchemy.orm import Session

# How SQLAlchemy marks an ``IN`` list whose length is known only at execution.
_EXPANDING = re.compile(r"__\[POSTCOMPILE_(\w+)\]")
Processor = Callable[[Any], Any] | None


@dataclass(frozen=True)
class _Compiled:
    sql: str  # with the expanding markers still in it
    positional: bool  # qmark (SQLite) or named pyformat (psycopg)
    order: tuple[str, ...]  # bound names in the order of their markers (positional style)
    expanding: frozenset[str]
    fixed: dict[str, Any]  # values fixed in the statement itself (e.g. a function's argument)
    to_driver: Mapping[str, Processor]
    from_driver: tuple[Processor, ...]
    row: Any  # a namedtuple of the selected columns' names

    def sql_for(self, lengths: tuple[tuple[str, int], ...]) -> str:
        sizes = dict(lengths)

        def expand(match: re.Match[str]) -> str:
            name = match.group(1)
            if self.positional:
                return ", ".join("?" * sizes[name])
            return ", ".join(f"%({name}_{i})s" for i in range(sizes[name]))

        return _EXPANDING.sub(expand, self.sql)


def _compile(statement: Select[Any] | Insert, dialect: Dialect) -> _Compiled:
    compiled = statement.compile(dialect=dialect)
    binds = compiled.binds
    to_driver = {
        name: bind.type.dialect_impl(dialect).bind_processor(dialect)
        for name, bind in binds.items()
    }
    selected = statement.selected_columns if isinstance(statement, Select) else ()
    from_driver = tuple(
        column.type.dialect_impl(dialect).result_processor(dialect, None) for column in selected
    )
    return _Compiled(
        sql=str(compiled),
        positional=dialect.paramstyle == "qmark",
        order=tuple(compiled.positiontup or ()),
        expanding=frozenset(name for name, bind in binds.items() if bind.expanding),
        fixed={
            name: bind.effective_value for name, bind in binds.items() if bind.value is not None
        },
        to_driver=to_driver,
        from_driver=from_driver,
        row=namedtuple("Row", [c.key for c in selected], rename=True),  # type: ignore[misc]
    )


class DirectQuery:
    """A Core ``SELECT`` run on the driver's cursor (see the module's docstring). Its rows are
    named tuples: ``row.id``, ``row._asdict()`` and positions work as on SQLAlchemy's rows."""

    def __init__(self, statement: Select[Any]) -> None:
        self.statement = statement
        self._compiled: dict[str, _Compiled] = {}
        self._sql: dict[tuple[str, tuple[tuple[str, int], ...]], str] = {}

    def rows(self, session: Session, values: Mapping[str, Any]) -> list[Any]:
        connection = session.connection()
        dialect = connection.dialect
        compiled = self._compiled.get(dialect.name)
        if compiled is None:
            compiled = self._compiled[dialect.name] = _compile(self.statement, dialect)
        lengths = tuple(sorted((name, len(values[name])) for name in compiled.expanding))
        if any(length == 0 for _, length in lengths):
            # SQLAlchemy writes an empty IN list as a condition of its own: let it.
            return list(connection.execute(self.statement, values).all())
        sql = self._sql.get((dialect.name, lengths))
        if sql is None:
            sql = self._sql[(dialect.name, lengths)] = compiled.sql_for(lengths)
        fetched = _run(connection, sql, [_arguments(compiled, values)], fetch=True)
        make = compiled.row._make
        if any(compiled.from_driver):
            processors = compiled.from_driver
            return [
                make(
                    value if p is None else p(value)
                    for p, value in zip(processors, row, strict=True)
                )
                for row in fetched
            ]
        return [make(row) for row in fetched]

    def scalar(self, session: Session, values: Mapping[str, Any]) -> Any:
        rows = self.rows(session, values)
        return rows[0][0] if rows else None


class DirectInsert:
    """Rows into one table with the driver's ``executemany``, SQL compiled once per dialect and
    values converted by their column types: for the row every write adds (an audit event),
    where SQLAlchemy's execution would cost ten times the insert itself."""

    def __init__(self, table: Table) -> None:
        self.statement = insert(table).values(
            {column.key: bindparam(column.key, type_=column.type) for column in table.columns}
        )
        self._compiled: dict[str, _Compiled] = {}

    def run(self, session: Session, rows: Sequence[Mapping[str, Any]]) -> None:
        if not rows:
            return
        connection = session.connection()
        dialect = connection.dialect
        compiled = self._compiled.get(dialect.name)
        if compiled is None:
            compiled = self._compiled[dialect.name] = _compile(self.statement, dialect)
        _run(connection, compiled.sql, [_arguments(compiled, row) for row in rows], fetch=False)


def driver_scalar(session: Session, sql: str, parameters: Sequence[Any]) -> Any:
    """The first value ``sql`` (in the driver's parameter style) answers, run on the driver's
    cursor, its errors raised as SQLAlchemy's: for a statement every write runs."""
    rows = _run(session.connection(), sql, [parameters], fetch=True)
    return rows[0][0] if rows else None


def _run(connection: Connection, sql: str, arguments: list[Any], *, fetch: bool) -> list[Any]:
    """``sql`` once per item of ``arguments`` on the connection's driver cursor; driver errors
    raised as SQLAlchemy's, and a dropped connection discarded from the pool."""
    dialect = connection.dialect
    pooled = connection.connection
    cursor = pooled.cursor()
    try:
        if len(arguments) == 1:
            cursor.execute(sql, arguments[0])
        else:
            cursor.executemany(sql, arguments)
        return list(cursor.fetchall()) if fetch else []
    except dialect.loaded_dbapi.Error as error:
        if dialect.is_disconnect(error, pooled.dbapi_connection, cursor):
            connection.invalidate(error)
        raise exc.DBAPIError.instance(sql, arguments, error, dialect.loaded_dbapi.Error) from error
    finally:
        cursor.close()


def _arguments(compiled: _Compiled, values: Mapping[str, Any]) -> Sequence[Any] | dict[str, Any]:
    """The values as the driver takes them, each converted by its bound type."""
    converted: dict[str, Any] = {}
    for name, convert in compiled.to_driver.items():
        value = values[name] if name in values else compiled.fixed[name]
        if name in compiled.expanding:
            items = value if convert is None else [convert(item) for item in value]
            if compiled.positional:
                converted[name] = items
            else:
                converted.update((f"{name}_{i}", item) for i, item in enumerate(items))
        else:
            converted[name] = value if convert is None else convert(value)
    if not compiled.positional:
        return converted
    arguments: list[Any] = []
    for name in compiled.order:
        if name in compiled.expanding:
            arguments.extend(converted[name])
        else:
            arguments.append(converted[name])
    return arguments
