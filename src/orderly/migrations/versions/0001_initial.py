"""Organizations, API tokens, orders, line items and status history.

Money columns hold integers of 10^-4 units (see orderly.core.money).

Revision ID: 0001
Revises:
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "organizations",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("slug", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("default_country", sa.String(length=2), nullable=False),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_organizations")),
        sa.UniqueConstraint("slug", name=op.f("uq_organizations_slug")),
    )
    op.create_table(
        "api_tokens",
        sa.Column("organization_id", sa.String(length=32), nullable=False),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_api_tokens_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("organization_id", "id", name=op.f("pk_api_tokens")),
    )
    op.create_table(
        "orders",
        sa.Column("organization_id", sa.String(length=32), nullable=False),
        sa.Column("id", sa.String(length=17), nullable=False),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("external_id", sa.String(length=255), nullable=True),
        sa.Column("external_number", sa.String(length=255), nullable=True),
        sa.Column("customer_name", sa.String(length=255), nullable=True),
        sa.Column("customer_email", sa.String(length=320), nullable=True),
        sa.Column("customer_phone", sa.String(length=64), nullable=True),
        sa.Column("subtotal", sa.BigInteger(), nullable=False),
        sa.Column("discount", sa.BigInteger(), nullable=False),
        sa.Column("tax", sa.BigInteger(), nullable=False),
        sa.Column("delivery_fee", sa.BigInteger(), nullable=False),
        sa.Column("total_amount", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "pending",
                "confirmed",
                "preparing",
                "ready",
                "shipped",
                "delivered",
                "cancelled",
                "returned",
                name="order_status",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column(
            "payment_status",
            sa.Enum(
                "pending",
                "paid",
                "refunded",
                "partially_refunded",
                "failed",
                name="payment_status",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column(
            "fulfillment_status",
            sa.Enum(
                "unfulfilled",
                "partially_fulfilled",
                "fulfilled",
                "returned",
                name="fulfillment_status",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("meta", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False),
        sa.Column("search_text", sa.Text(), nullable=False),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_orders_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("organization_id", "id", name=op.f("pk_orders")),
        sa.UniqueConstraint(
            "organization_id",
            "source",
            "external_id",
            name=op.f("uq_orders_organization_id_source_external_id"),
        ),
    )
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_orders_organization_id_created_id"),
            ["organization_id", "created", "id"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_orders_organization_id_customer_name_id"),
            ["organization_id", "customer_name", "id"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_orders_organization_id_payment_status_created_id"),
            ["organization_id", "payment_status", "created", "id"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_orders_organization_id_source_created_id"),
            ["organization_id", "source", "created", "id"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_orders_organization_id_status_created_id"),
            ["organization_id", "status", "created", "id"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_orders_organization_id_total_amount_id"),
            ["organization_id", "total_amount", "id"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_orders_organization_id_updated_id"),
            ["organization_id", "updated", "id"],
            unique=False,
        )

    op.create_table(
        "order_line_items",
        sa.Column("organization_id", sa.String(length=32), nullable=False),
        sa.Column("order_id", sa.String(length=17), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.String(length=255), nullable=True),
        sa.Column("name", sa.String(length=1024), nullable=True),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("price", sa.BigInteger(), nullable=False),
        sa.Column("total", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id", "order_id"],
            ["orders.organization_id", "orders.id"],
            name=op.f("fk_order_line_items_organization_id_order_id_orders"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "organization_id", "order_id", "position", name=op.f("pk_order_line_items")
        ),
    )
    op.create_table(
        "order_status_history",
        sa.Column("organization_id", sa.String(length=32), nullable=False),
        sa.Column("order_id", sa.String(length=17), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("field", sa.String(length=32), nullable=False),
        sa.Column("from_value", sa.String(length=32), nullable=True),
        sa.Column("to_value", sa.String(length=32), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id", "order_id"],
            ["orders.organization_id", "orders.id"],
            name=op.f("fk_order_status_history_organization_id_order_id_orders"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "organization_id", "order_id", "seq", name=op.f("pk_order_status_history")
        ),
    )


def downgrade() -> None:
    op.drop_table("order_status_history")
    op.drop_table("order_line_items")
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_orders_organization_id_updated_id"))
        batch_op.drop_index(batch_op.f("ix_orders_organization_id_total_amount_id"))
        batch_op.drop_index(batch_op.f("ix_orders_organization_id_status_created_id"))
        batch_op.drop_index(batch_op.f("ix_orders_organization_id_source_created_id"))
        batch_op.drop_index(batch_op.f("ix_orders_organization_id_payment_status_created_id"))
        batch_op.drop_index(batch_op.f("ix_orders_organization_id_customer_name_id"))
        batch_op.drop_index(batch_op.f("ix_orders_organization_id_created_id"))

    op.drop_table("orders")
    op.drop_table("api_tokens")
    op.drop_table("organizations")
