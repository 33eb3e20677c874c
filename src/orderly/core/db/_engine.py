"""Engines and sessions: psycopg 3 for PostgreSQL, SQLite tuned (WAL) with its one write lock
handed to writers in turn, across threads and processes."""

import fcntl
import threading
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    Connection,
    Engine,
    create_engine,
    event,
)
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from orderly.core.config import get_settings
from orderly.core.http import dump_json, parse_json


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
