"""Units of work: how a request gets its transaction.

One transaction per request, committed once when its work returns and rolled back when it
raises; services only ``flush``. Which way in, by kind of endpoint:

- **Hot API paths** (list, get, create, status changes, bulk): ``database.run(work, write=…)``
  with a named function ``work(session)``; it waits its turn (so a burst queues instead of
  failing), runs in a worker thread on PostgreSQL and retries a deadlock.
- **Other endpoints** (integrations, audit, the dashboard): the ``SessionDep`` dependency.
- **Platform webhooks**: the webhook writer's queue (``integrations/writer.py``), which
  batches deliveries through ``database.run``.
- **The command line and tests**: ``transaction(url, write=…)``, a context manager.
- **An Idempotency-Key's request**: ``database.request_unit()``, one transaction around the
  whole request, which ``run`` and ``SessionDep`` join (each in a savepoint).
"""

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from contextvars import ContextVar
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from orderly.core.config import get_settings
from orderly.core.db._engine import session_factory, sqlalchemy_url
from orderly.core.telemetry import DATABASE_IN_USE, DATABASE_STATE


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
    async def held(self, *, write: bool) -> AsyncIterator[Session]:
        """A turn and one transaction held across awaits, for work that runs in between
        (an endpoint, a whole request): committed when the block ends normally, rolled back
        when it raises. Entered and left by hand because the work runs in other threads."""
        async with self.turn(write=write):
            unit = transaction(self.url, write=write)
            session = unit.__enter__()  # no I/O yet: the session connects when first used
            try:
                yield session
            except BaseException as exc:
                await self.in_thread(unit.__exit__, type(exc), exc, exc.__traceback__)
                raise
            await self.in_thread(unit.__exit__, None, None, None)

    @asynccontextmanager
    async def request_unit(self) -> AsyncIterator[Session]:
        """One write transaction for everything a request does inside the block: every ``run``
        and ``SessionDep`` session uses it (each in a savepoint), and it commits when the block
        ends normally (rolls back when it raises). The Idempotency-Key middleware keeps its
        claim, the write and the answer in one, so that a crash leaves all or none of them."""
        async with self.held(write=True) as session:
            token = _request_unit.set(session)
            try:
                yield session
            finally:
                _request_unit.reset(token)

    def _run(self, work: Callable[[Session], T], write: bool) -> T:
        for attempt in range(_ATTEMPTS):
            try:
                with transaction(self.url, write=write) as session:
                    done = work(session)
                DATABASE_STATE.up()  # back after a 503, for orderly_dependency_up
                return done
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
    first, and its transaction ends (commit, or rollback on error) when the endpoint is done
    (``Database.held``); inside a ``request_unit``, a savepoint of that unit's."""
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
    async with database.held(write=request.method not in _READ_METHODS) as session:
        yield session


# scope="function": commit before the response is sent, so a failed commit is never a 2xx.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]
