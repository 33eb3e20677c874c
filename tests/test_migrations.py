"""The migrations build exactly the schema the models describe, on both engines."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from orderly.core.db import Base, get_engine, include_name


def test_models_and_migrations_agree(database_url: str) -> None:
    with get_engine(database_url).connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"include_name": include_name, "compare_type": True}
        )
        assert compare_metadata(context, Base.metadata) == []


def test_every_key_and_index_leads_with_organization_id(database_url: str) -> None:
    inspector = inspect(get_engine(database_url))
    for table in Base.metadata.sorted_tables:
        if table.name == "organizations":
            continue
        assert (
            inspector.get_pk_constraint(table.name)["constrained_columns"][0] == "organization_id"
        )
        for index in inspector.get_indexes(table.name):
            assert index["column_names"][0] == "organization_id", index
        for unique in inspector.get_unique_constraints(table.name):
            assert unique["column_names"][0] == "organization_id", unique
