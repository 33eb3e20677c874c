"""Indexes for substring search over orders.search_text.

SQLite: an FTS5 trigram index kept in step with orders by triggers (external content keyed by
the orders rowid; after a VACUUM, which may renumber rowids, run
``INSERT INTO orders_search(orders_search) VALUES ('rebuild')``).
PostgreSQL: a trigram GIN index led by organization_id (pg_trgm and btree_gin, both trusted).

Revision ID: 0003
Revises: 0002
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SQLITE_UP = [
    "CREATE VIRTUAL TABLE orders_search USING fts5("
    "search_text, content='orders', content_rowid='rowid', tokenize='trigram')",
    "CREATE TRIGGER orders_search_insert AFTER INSERT ON orders BEGIN "
    "INSERT INTO orders_search(rowid, search_text) VALUES (new.rowid, new.search_text); END",
    "CREATE TRIGGER orders_search_delete AFTER DELETE ON orders BEGIN "
    "INSERT INTO orders_search(orders_search, rowid, search_text) "
    "VALUES ('delete', old.rowid, old.search_text); END",
    "CREATE TRIGGER orders_search_update AFTER UPDATE OF search_text ON orders BEGIN "
    "INSERT INTO orders_search(orders_search, rowid, search_text) "
    "VALUES ('delete', old.rowid, old.search_text); "
    "INSERT INTO orders_search(rowid, search_text) VALUES (new.rowid, new.search_text); END",
    "INSERT INTO orders_search(orders_search) VALUES ('rebuild')",
]
SQLITE_DOWN = [
    "DROP TRIGGER orders_search_update",
    "DROP TRIGGER orders_search_delete",
    "DROP TRIGGER orders_search_insert",
    "DROP TABLE orders_search",
]
POSTGRESQL_UP = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE EXTENSION IF NOT EXISTS btree_gin",
    "CREATE INDEX ix_orders_organization_id_search_text_trgm ON orders "
    "USING gin (organization_id, search_text gin_trgm_ops)",
]
POSTGRESQL_DOWN = ["DROP INDEX ix_orders_organization_id_search_text_trgm"]


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    for statement in SQLITE_UP if dialect == "sqlite" else POSTGRESQL_UP:
        op.execute(statement)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    for statement in SQLITE_DOWN if dialect == "sqlite" else POSTGRESQL_DOWN:
        op.execute(statement)
