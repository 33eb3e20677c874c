"""The schema: Alembic migrations applied on start, and fresh planner statistics after them."""

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import (
    Engine,
)
from sqlalchemy.orm import Session

from orderly.core.config import get_settings
from orderly.core.db._engine import get_engine, sqlalchemy_url
from orderly.core.db._unit import transaction


def alembic_config(url: str | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(Path(__file__).parents[2] / "migrations"))
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
