"""The database, by concern: column types (``_types``), engines and SQLite's writer lock
(``_engine``), units of work, the one way into a transaction per kind of endpoint
(``_unit``), and migrations (``_migrations``)."""

from orderly.core.db._engine import get_engine, session_factory, sqlalchemy_url
from orderly.core.db._migrations import alembic_config, analyze, include_name, migrate, ping
from orderly.core.db._types import NAMING_CONVENTION, Base, Money, UTCDateTime, utc_now
from orderly.core.db._unit import Database, DatabaseDep, SessionDep, transaction

__all__ = [
    "NAMING_CONVENTION",
    "Base",
    "Database",
    "DatabaseDep",
    "Money",
    "SessionDep",
    "UTCDateTime",
    "alembic_config",
    "analyze",
    "get_engine",
    "include_name",
    "migrate",
    "ping",
    "session_factory",
    "sqlalchemy_url",
    "transaction",
    "utc_now",
]
