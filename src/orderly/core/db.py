"""Engine, session and column types shared by every domain.

One transaction per request: ``Database.run`` (hot paths) and the ``SessionDep`` dependency
commit once when the work returns and roll back when it raises. Services only ``flush``.
"""

import asyncio
import fcntl
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, TypeVar

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
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
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator
from starlette.concurrency import run_in_threadpool

from orderly.core import money
from orderly.core.config import get_settings
from orderly.core.http import dump_json, parse_json
from orderly.core.telemetry import DATABASE_IN_USE

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
_CONNECT_TIMEOUT_S = 5


def _tune_sqlite(dbapi_connection: Any, _: Any) -> None:
    # SQLAlchemy begins transactions itself (``_SQLiteWriters.begin``); the driver's own implicit
    # BEGIN would come only before the first write and break SAVEPOINTs.
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
    """Hands SQLite's one write lock to writers in turn, within a process and across processes.

    A writer begins ``IMMEDIATE``, taking the lock up front: begun deferred, it would read
    first and then fail at once ("database is locked") when another writer committed in
    between. Before that it queues twice: on a thread lock (this process's writers) and on an
    ``flock`` of a file beside the database (other processes: ``serve --workers N``, the CLI).
    Both wake the next waiter as soon as the lock is free, where SQLite's own busy handler polls
    with sleeps of up to 100 ms and starves some writers under load. Readers stay deferred and
    never wait for writers (WAL).
    """

    def __init__(self, database_path: str | None) -> None:
        self.lock = threading.Lock()
        self.lock_file = None
        if database_path and database_path != ":memory:":
            self.lock_file = open(f"{database_path}-writer.lock", "a+b")  # noqa: SIM115

    def begin(self, connection: Connection) -> None:
        if not connection.get_execution_options().get(_WRITE):
            connection.exec_driver_sql("BEGIN")
            return
        # Bounded, so that a lost release can only slow writers, never stop them.
        if self.lock.acquire(timeout=_BUSY_TIMEOUT_S):
            connection.info[_HOLDS_WRITE_LOCK] = True
            if self.lock_file is not None:
                fcntl.flock(self.lock_file, fcntl.LOCK_EX)
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    def checkin(self, _: Any, record: Any) -> None:
        # The connection is back in the pool: its transaction has ended, committed or not.
        if record.info.pop(_HOLDS_WRITE_LOCK, False):
            if self.lock_file is not None:
                fcntl.flock(self.lock_file, fcntl.LOCK_UN)
            self.lock.release()


def _json_text(value: Any) -> str:
    return dump_json(value).decode()


@lru_cache(maxsize=8)
def get_engine(url: str | None = None) -> Engine:
    url = sqlalchemy_url(url or get_settings().database_url)
    # Requests never hold more connections than the pool has (``Database.turn``); the overflow
    # serves what runs beside them: token lookups, export streams, the CLI's own engine.
    pool = get_settings().db_pool_size
    # JSON columns (an order's ``meta``) are written and read like request bodies: fractions
    # as exact decimals, never binary floats (the standard json module refuses a Decimal).
    sizing = {
        "pool_size": pool,
        "max_overflow": pool,
        "json_serializer": _json_text,
        "json_deserializer": parse_json,
    }
    if url.startswith("sqlite"):
        # Pooled connections stay open: a new one pays its PRAGMAs and starts with a cold cache.
        engine = create_engine(url, connect_args={"check_same_thread": False}, **sizing)
        writers = _SQLiteWriters(make_url(url).database)
        event.listen(engine, "connect", _tune_sqlite)
        event.listen(engine, "begin", writers.begin)
        event.listen(engine, "checkin", writers.checkin)
        return engine
    # No pre-ping: it costs a round trip per request; a connection found dead is discarded by
    # SQLAlchemy when it fails, and recycling keeps idle ones from going stale behind proxies.
    # A server that does not answer (frozen, or its host gone) fails a connection attempt after
    # a few seconds, answered 503, instead of holding the request for the OS's minutes.
    return create_engine(
        url, pool_recycle=1800, connect_args={"connect_timeout": _CONNECT_TIMEOUT_S}, **sizing
    )


@lru_cache(maxsize=8)
def session_factory(url: str | None = None, *, write: bool = False) -> sessionmaker[Session]:
    """Sessions on ``url``; ``write=True`` ones begin as writers (SQLite's write lock first)."""
    engine = get_engine(url)
    if write:
        engine = engine.execution_options(**{_WRITE: True})
    return sessionmaker(engine, expire_on_commit=False, autoflush=False)


@contextmanager
def transaction(url: str | None = None, *, write: bool) -> Iterator[Session]:
    """One session and one transaction: committed if the block ends normally, rolled back if
    it raises. Requests (``Database``), the webhook writer and the CLI all write through it."""
    with session_factory(url, write=write)() as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


T = TypeVar("T")
# The session of the request's unit of work, while ``Database.request_unit`` holds one.
_request_unit: ContextVar[Session | None] = ContextVar("orderly_request_unit", default=None)


def _in_savepoint(session: Session, work: Callable[[Session], T]) -> T:
    # A failed piece of work is undone alone, and the unit's transaction stays usable.
    with session.begin_nested():
        return work(session)


_DEADLOCK = "40P01"  # PostgreSQL's SQLSTATE for a transaction it chose to end in a deadlock
_ATTEMPTS = 3


class Database:
    """A server process's way to its database: each request waits for its turn, then runs its
    whole unit of work (queries, commit) in one transaction.

    A request waits for its turn in the event loop, holding neither a thread nor a connection:
    at most ``db_pool_size`` requests use the database at once (so a connection is always
    free for them), and on SQLite one writer at a time (the others queue here, not in threads
    that the holder may need to finish). A burst is therefore served in order, never answered
    500 by a pool or lock timeout.

    Where the work runs was chosen by measurement (docs/performance.md): on PostgreSQL in a
    worker thread, so that one request's round trips to the server overlap another's Python;
    on SQLite in the event loop itself, because SQLite's work is this process's CPU anyway and
    a thread only adds a hop and contention for the interpreter lock.
    """

    def __init__(self, url: str) -> None:
        self.url = url
        self.is_sqlite = sqlalchemy_url(url).startswith("sqlite")
        self._slots = asyncio.Semaphore(get_settings().db_pool_size)
        self._writer = asyncio.Lock()

    @asynccontextmanager
    async def turn(self, *, write: bool) -> AsyncIterator[None]:
        """Wait until this request may use the database."""
        if write and self.is_sqlite:
            async with self._writer, self._slots:
                with DATABASE_IN_USE.track_inprogress():
                    yield
        else:
            async with self._slots:
                with DATABASE_IN_USE.track_inprogress():
                    yield

    async def run(self, work: Callable[[Session], T], *, write: bool) -> T:
        """``work(session)`` in one transaction, after waiting its turn; inside a
        ``request_unit``, in that unit's transaction (a savepoint of it)."""
        unit = _request_unit.get()
        if unit is not None:
            return await self.in_thread(_in_savepoint, unit, work)
        async with self.turn(write=write):
            if self.is_sqlite:
                return self._run(work, write)
            return await run_in_threadpool(self._run, work, write)

    async def in_thread(self, function: Callable[..., T], *args: Any) -> T:
        """Blocking database work: in a worker thread on PostgreSQL, inline on SQLite (see the
        class's docstring)."""
        if self.is_sqlite:
            return function(*args)
        return await run_in_threadpool(function, *args)

    @asynccontextmanager
    async def request_unit(self) -> AsyncIterator[Session]:
        """One write transaction for everything a request does inside the block: every ``run``
        and ``SessionDep`` session uses it (each in a savepoint), and it commits when the block
        ends normally (rolls back when it raises). The Idempotency-Key middleware keeps its
        claim, the write and the answer in one, so that a crash leaves all or none of them."""
        async with self.turn(write=True):
            unit = transaction(self.url, write=True)
            session = unit.__enter__()  # no I/O yet: the session connects when first used
            token = _request_unit.set(session)
            try:
                yield session
            except BaseException as exc:
                _request_unit.reset(token)
                await self.in_thread(unit.__exit__, type(exc), exc, exc.__traceback__)
                raise
            _request_unit.reset(token)
            await self.in_thread(unit.__exit__, None, None, None)

    def _run(self, work: Callable[[Session], T], write: bool) -> T:
        for attempt in range(_ATTEMPTS):
            try:
                with transaction(self.url, write=write) as session:
                    return work(session)
            except OperationalError as exc:
                # PostgreSQL ends one of two transactions that wait for each other's row locks
                # (a deadlock); it was rolled back whole, so running it again is safe.
                if getattr(exc.orig, "sqlstate", None) != _DEADLOCK or attempt == _ATTEMPTS - 1:
                    raise
        raise AssertionError("unreachable")


async def get_database(request: Request) -> Database:
    # ``async``: FastAPI runs a plain ``def`` dependency on its thread pool, a hop per request.
    database: Database = request.app.state.database
    return database


DatabaseDep = Annotated[Database, Depends(get_database)]

_READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


async def get_session(request: Request) -> AsyncIterator[Session]:
    """The request's session, for endpoints that are not on the hot path: its turn is taken
    first, and its ``transaction`` ends (commit, or rollback on error) in a worker thread when
    the endpoint is done. The transaction is entered and left by hand because the endpoint runs
    in between, in another thread."""
    database = await get_database(request)
    if (within := _request_unit.get()) is not None:
        savepoint = await database.in_thread(within.begin_nested)
        try:
            yield within
        except BaseException:
            await database.in_thread(savepoint.rollback)
            raise
        await database.in_thread(savepoint.commit)
        return
    write = request.method not in _READ_METHODS
    async with database.turn(write=write):
        unit = transaction(database.url, write=write)
        session = unit.__enter__()  # no I/O yet: the session connects when first used
        try:
            yield session
        except BaseException as exc:
            await run_in_threadpool(unit.__exit__, type(exc), exc, exc.__traceback__)
            raise
        await run_in_threadpool(unit.__exit__, None, None, None)


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


def _revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def migrate(url: str | None = None) -> bool:
    """Bring the database schema up to the newest Alembic revision; after applying any, refresh
    the planner's statistics. Returns whether it applied any."""
    engine = get_engine(url)
    before = _revision(engine)
    command.upgrade(alembic_config(url), "head")
    if _revision(engine) == before:
        return False
    analyze(url)
    return True


def analyze(url: str | None = None) -> None:
    """Fresh planner statistics, after what the engine would see only later (a migration, a
    large import, a restart after bulk loads). Without them SQLite, for one, answers a rare
    search by walking the organization's half a million orders instead of the search index."""
    with transaction(url, write=True) as session:  # ANALYZE writes its statistics
        connection = session.connection()
        if connection.dialect.name == "sqlite":
            # Sampled statistics: seconds even on millions of rows, and as good for the planner.
            connection.exec_driver_sql("PRAGMA analysis_limit=1000")
        connection.exec_driver_sql("ANALYZE")


def ping(session: Session) -> None:
    session.connection().exec_driver_sql("SELECT 1")
