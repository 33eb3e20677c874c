"""Engine, session and column types shared by every domain.

One SQLAlchemy session per request: the ``SessionDep`` dependency commits once when the
endpoint returns and rolls back when it raises. Services only ``flush``.
"""

import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any

from alembic import command
from alembic.config import Config
from fastapi import Depends, Request
from sqlalchemy import (
    BigInteger,
    Connection,
    DateTime,
    Dialect,
    Engine,
    MetaData,
    create_engine,
    event,
    literal,
    select,
)
from sqlalchemy.engine import make_url
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

from orderly.core import money
from orderly.core.config import get_settings

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def utc_now() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on both engines (SQLite keeps naive UTC text, which sorts right)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Money(TypeDecorator[Decimal]):
    """An exact amount kept as a 64-bit integer of 10^-4 units (see ``orderly.core.money``)."""

    impl = BigInteger
    cache_ok = True

    def process_bind_param(self, value: Decimal | None, dialect: Dialect) -> int | None:
        return None if value is None else money.to_storage(value)

    def process_result_value(self, value: int | None, dialect: Dialect) -> Decimal | None:
        return None if value is None else money.from_storage(value)


def sqlalchemy_url(url: str) -> str:
    """Use psycopg 3 for plain ``postgresql://`` URLs."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


_BUSY_TIMEOUT_S = 10


def _tune_sqlite(dbapi_connection: Any, _: Any) -> None:
    # SQLAlchemy begins transactions itself (``_begin_sqlite``); the driver's own implicit BEGIN
    # would come only before the first write and break SAVEPOINTs.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    # WAL lets readers run beside the writer; NORMAL sync is durable across crashes of the app.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={_BUSY_TIMEOUT_S * 1000}")
    cursor.execute("PRAGMA cache_size=-32768")  # 32 MiB of pages per connection
    cursor.close()


_WRITE = "orderly_write"
_HOLDS_WRITE_LOCK = "orderly_holds_write_lock"


class _SQLiteWriters:
    """Hands SQLite's one write lock to this process's writers in turn.

    A writer begins ``IMMEDIATE``, taking the lock up front: begun deferred, it would read
    first and then fail at once ("database is locked") when another writer committed in
    between. Writers of this process first queue on a thread lock, because SQLite's own
    busy handler polls with sleeps of up to 100 ms, which starves some writers under load.
    Other processes on the same file still wait through ``busy_timeout``. Readers stay
    deferred and never wait for writers (WAL).
    """

    def __init__(self) -> None:
        self.lock = threading.Lock()

    def begin(self, connection: Connection) -> None:
        if connection.get_execution_options().get(_WRITE):
            # Bounded, so that a lost release can only slow writers, never stop them.
            if self.lock.acquire(timeout=_BUSY_TIMEOUT_S):
                connection.info[_HOLDS_WRITE_LOCK] = True
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            connection.exec_driver_sql("BEGIN")

    def checkin(self, _: Any, record: Any) -> None:
        # The connection is back in the pool: its transaction has ended, committed or not.
        if record.info.pop(_HOLDS_WRITE_LOCK, False):
            self.lock.release()


def begin_write(session: Session) -> None:
    """Start ``session``'s transaction as one that will write (matters on SQLite only)."""
    session.connection(execution_options={_WRITE: True})


@lru_cache(maxsize=8)
def get_engine(url: str | None = None) -> Engine:
    url = sqlalchemy_url(url or get_settings().database_url)
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False})
        writers = _SQLiteWriters()
        event.listen(engine, "connect", _tune_sqlite)
        event.listen(engine, "begin", writers.begin)
        event.listen(engine, "checkin", writers.checkin)
        return engine
    pool = get_settings().db_pool_size
    # No pre-ping: it costs a round trip per request; a connection found dead is discarded by
    # SQLAlchemy when it fails, and recycling keeps idle ones from going stale behind proxies.
    return create_engine(url, pool_size=pool, max_overflow=pool, pool_recycle=1800)


@lru_cache(maxsize=8)
def session_factory(url: str | None = None) -> sessionmaker[Session]:
    return sessionmaker(get_engine(url), expire_on_commit=False, autoflush=False)


_READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def get_session(request: Request) -> Iterator[Session]:
    with session_factory(request.app.state.database_url)() as session:
        if request.method not in _READ_METHODS:
            begin_write(session)
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


# scope="function": commit before the response is sent, so a failed commit is never a 2xx.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]


def alembic_config(url: str | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(Path(__file__).parent.parent / "migrations"))
    # configparser reads "%" as interpolation; a password may contain one.
    db_url = sqlalchemy_url(url or get_settings().database_url).replace("%", "%%")
    config.set_main_option("sqlalchemy.url", db_url)
    return config


# Search indexes are engine-specific and written by hand (revision 0003); autogenerate and the
# schema drift test leave them be.
_HAND_WRITTEN = ("orders_search", "ix_orders_organization_id_search_text_trgm")


def include_name(name: str | None, type_: str, parent_names: object) -> bool:
    return not (name or "").startswith(_HAND_WRITTEN)


def migrate(url: str | None = None) -> None:
    """Bring the database schema up to the newest Alembic revision."""
    command.upgrade(alembic_config(url), "head")


def ping(session: Session) -> None:
    session.execute(select(literal(1)))
