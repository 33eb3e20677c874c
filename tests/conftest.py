"""Every API test runs against both engines: a SQLite file and a real PostgreSQL server.

Each test gets a fresh organization and token and leaves an empty database behind.
Choose engines with ``ORDERLY_TEST_BACKENDS=sqlite`` (default: ``sqlite,postgresql``).
"""

import os
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from cryptography.fernet import Fernet
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from orderly.app import create_app
from orderly.auth import service as auth
from orderly.core.config import get_settings
from orderly.core.db import Base, get_engine, migrate, session_factory
from orderly.core.ratelimit import MemoryLimiter
from tests.factories import order_payload
from tests.support.postgres import postgres_server
from tests.support.server import live_server

# One key for the test session's server, its CLI subprocesses and both engines (the default,
# a key file beside the database, is tested on its own in tests/core/test_crypto.py).
os.environ.setdefault("ORDERLY_SECRET_KEY", Fernet.generate_key().decode())
# Webhook receivers are servers the tests start on 127.0.0.1; retries come fast, and a receiver
# that does not answer is given up on soon.
os.environ.setdefault("ORDERLY_OUTBOUND_ALLOW_PRIVATE", "true")
os.environ.setdefault("ORDERLY_WEBHOOK_RETRY_BASE_SECONDS", "0.2")
os.environ.setdefault("ORDERLY_WEBHOOK_TIMEOUT_SECONDS", "2")
os.environ.setdefault("ORDERLY_PLATFORM_RETRY_BASE_SECONDS", "0.05")
os.environ.setdefault("ORDERLY_PLATFORM_TIMEOUT_SECONDS", "5")

BACKENDS = [
    b.strip() for b in os.environ.get("ORDERLY_TEST_BACKENDS", "sqlite,postgresql").split(",")
]


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    with postgres_server() as url:
        yield url


@pytest.fixture(scope="session", params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('sqlite') / 'orderly.db'}"
    else:
        url = str(request.getfixturevalue("postgres_url"))
    migrate(url)  # the test database is built by the same migrations as production
    return url


@pytest.fixture(scope="session")
def served_app(database_url: str) -> FastAPI:
    return create_app(database_url)


@pytest.fixture(scope="session")
def base_url(database_url: str, served_app: FastAPI) -> Iterator[str]:
    with live_server(database_url, served_app) as url:
        yield url


Setting = Callable[[str, str], None]


@pytest.fixture
def setting(monkeypatch: pytest.MonkeyPatch) -> Iterator[Setting]:
    """``setting("ORDERLY_X", "value")``: an environment setting for this test only."""

    def put(name: str, value: str) -> None:
        monkeypatch.setenv(name, value)
        get_settings.cache_clear()

    yield put
    monkeypatch.undo()
    get_settings.cache_clear()


@pytest.fixture
def fresh_limits(served_app: FastAPI) -> None:
    """Each test starts with full rate-limit buckets (every test client is 127.0.0.1)."""
    served_app.state.limiter = MemoryLimiter()


def _empty_database(url: str) -> None:
    tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
    for attempt in range(5):
        try:
            with get_engine(url).begin() as connection:
                if connection.dialect.name == "postgresql":
                    connection.execute(text(f"TRUNCATE {', '.join(tables)}"))
                else:
                    for table in tables:
                        connection.execute(text(f"DELETE FROM {table}"))  # noqa: S608 (ours)
            return
        except OperationalError:
            # The served app's webhook dispatcher reads these tables between tests: PostgreSQL
            # may end the TRUNCATE as one side of a deadlock with it. Run it again.
            if attempt == 4:
                raise
            time.sleep(0.1)


@pytest.fixture
def db(database_url: str) -> Iterator[Session]:
    """A session for arranging data directly; the database is emptied after the test."""
    with session_factory(database_url)() as session:
        yield session
    _empty_database(database_url)


def make_token(db: Session, slug: str, country: str = "SA") -> str:
    organization = auth.get_or_create_organization(db, slug, default_country=country)
    secret = auth.mint_token(db, organization, "tests").secret
    db.commit()
    return secret


def _client(base_url: str, token: str | None) -> httpx.Client:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.Client(base_url=base_url, headers=headers, timeout=30)


@pytest.fixture
def api(base_url: str, db: Session, fresh_limits: None) -> Iterator[httpx.Client]:
    """A client holding a token of the organization ``acme``."""
    with _client(base_url, make_token(db, "acme")) as client:
        yield client


@pytest.fixture
def other_api(base_url: str, db: Session, fresh_limits: None) -> Iterator[httpx.Client]:
    """A client of a second organization, for tenancy checks."""
    with _client(base_url, make_token(db, "globex")) as client:
        yield client


@pytest.fixture
def anonymous(base_url: str, db: Session, fresh_limits: None) -> Iterator[httpx.Client]:
    with _client(base_url, None) as client:
        yield client


MakeOrder = Callable[..., dict[str, Any]]


@pytest.fixture
def make_order(api: httpx.Client) -> MakeOrder:
    """``make_order(status="paid", customer_name="…")``: creates an order through the API."""

    def make(**fields: Any) -> dict[str, Any]:
        response = api.post("/api/v1/orders", content=order_payload(**fields))
        assert response.status_code == 201, response.text
        return dict(response.json())

    return make


@pytest.fixture(scope="session")
def fixtures_dir() -> Path:
    return Path(__file__).parent / "fixtures"


T = TypeVar("T")


@pytest.fixture
def crowd(base_url: str, api: httpx.Client) -> Iterator[Callable[..., list[Any]]]:
    """``crowd(n, call)``: ``call(client, i)`` from ``n`` threads, each with its own connection,
    released together by a barrier; returns what each call returned, in order."""
    token = api.headers["Authorization"]
    clients = [httpx.Client(base_url=base_url, headers={"Authorization": token}, timeout=120)]

    def run(n: int, call: Callable[[httpx.Client, int], T]) -> list[T]:
        while len(clients) < n:
            clients.append(
                httpx.Client(base_url=base_url, headers={"Authorization": token}, timeout=120)
            )
        barrier = threading.Barrier(n)

        def one(i: int) -> T:
            barrier.wait()
            return call(clients[i], i)

        with ThreadPoolExecutor(n) as pool:
            return list(pool.map(one, range(n)))

    yield run
    for client in clients:
        client.close()
