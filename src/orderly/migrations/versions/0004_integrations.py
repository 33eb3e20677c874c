"""Integrations: connections per platform, the webhook inbox, and orders.source_updated.

Revision ID: 0004
Revises: 0003
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "integrations",
        sa.Column("organization_id", sa.String(length=32), nullable=False),
        sa.Column("id", sa.String(length=48), nullable=False),
        sa.Column("platform", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("secret", sa.String(length=255), nullable=False),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_integrations_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("organization_id", "id", name=op.f("pk_integrations")),
    )
    op.create_table(
        "deliveries",
        sa.Column("organization_id", sa.String(length=32), nullable=False),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("connection_id", sa.String(length=48), nullable=False),
        sa.Column("received", sa.DateTime(timezone=True), nullable=False),
        sa.Column("topic", sa.String(length=128), nullable=True),
        sa.Column("event_id", sa.String(length=255), nullable=True),
        sa.Column("headers", sa.JSON(), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.Column("verified", sa.Boolean(), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("external_id", sa.String(length=255), nullable=True),
        sa.Column("order_id", sa.String(length=17), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("processed", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["organization_id", "connection_id"],
            ["integrations.organization_id", "integrations.id"],
            name=op.f("fk_deliveries_organization_id_connection_id_integrations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("organization_id", "id", name=op.f("pk_deliveries")),
    )
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_deliveries_organization_id_connection_id_event_id"),
            ["organization_id", "connection_id", "event_id"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_deliveries_organization_id_connection_id_outcome_received_id"),
            ["organization_id", "connection_id", "outcome", "received", "id"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_deliveries_organization_id_connection_id_received_id"),
            ["organization_id", "connection_id", "received", "id"],
            unique=False,
        )

    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.add_column(sa.Column("source_updated", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_column("source_updated")

    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_deliveries_organization_id_connection_id_received_id"))
        batch_op.drop_index(
            batch_op.f("ix_deliveries_organization_id_connection_id_outcome_received_id")
        )
        batch_op.drop_index(batch_op.f("ix_deliveries_organization_id_connection_id_event_id"))

    op.drop_table("deliveries")
    op.drop_table("integrations")
