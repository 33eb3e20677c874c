"""Maintained order counts per organization, status combination and source, filled from orders.

Revision ID: 0002
Revises: 0001
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "order_counts",
        sa.Column("organization_id", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("payment_status", sa.String(length=32), nullable=False),
        sa.Column("fulfillment_status", sa.String(length=32), nullable=False),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("shard", sa.SmallInteger(), nullable=False),
        sa.Column("n", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_order_counts_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "organization_id",
            "status",
            "payment_status",
            "fulfillment_status",
            "source",
            "shard",
            name=op.f("pk_order_counts"),
        ),
    )
    op.execute(
        "INSERT INTO order_counts (organization_id, status, payment_status, fulfillment_status,"
        " source, shard, n)"
        " SELECT organization_id, status, payment_status, fulfillment_status, source, 0, count(*)"
        " FROM orders GROUP BY organization_id, status, payment_status, fulfillment_status, source"
    )


def downgrade() -> None:
    op.drop_table("order_counts")
