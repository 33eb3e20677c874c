"""An order's shipments, refunds, returns and timeline notes; what of each line is shipped and
returned, and what of each order is refunded; the time zone a store's dashboard shows.

Revision ID: 0012
Revises: 0011
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "order_notes",
        sa.Column("organization_id", sa.String(length=32), nullable=False),
        sa.Column("order_id", sa.String(length=17), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=80), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id", "order_id"],
            ["orders.organization_id", "orders.id"],
            name=op.f("fk_order_notes_organization_id_order_id_orders"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("organization_id", "order_id", "id", name=op.f("pk_order_notes")),
    )
    with op.batch_alter_table("order_notes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_order_notes_organization_id_id"), ["organization_id", "id"], unique=True
        )

    op.create_table(
        "order_refunds",
        sa.Column("organization_id", sa.String(length=32), nullable=False),
        sa.Column("order_id", sa.String(length=17), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("reason", sa.String(length=255), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("restock", sa.Boolean(), nullable=False),
        sa.Column("lines", sa.JSON(), nullable=False),
        sa.Column("return_id", sa.String(length=40), nullable=True),
        sa.Column("external_id", sa.String(length=255), nullable=True),
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=80), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id", "order_id"],
            ["orders.organization_id", "orders.id"],
            name=op.f("fk_order_refunds_organization_id_order_id_orders"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("organization_id", "order_id", "id", name=op.f("pk_order_refunds")),
    )
    with op.batch_alter_table("order_refunds", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_order_refunds_organization_id_id"),
            ["organization_id", "id"],
            unique=True,
        )
        batch_op.create_index(
            batch_op.f("ix_order_refunds_organization_id_order_id_external_id"),
            ["organization_id", "order_id", "external_id"],
            unique=True,
        )

    op.create_table(
        "order_returns",
        sa.Column("organization_id", sa.String(length=32), nullable=False),
        sa.Column("order_id", sa.String(length=17), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "requested",
                "received",
                name="return_status",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("lines", sa.JSON(), nullable=False),
        sa.Column("reason", sa.String(length=255), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("refund_id", sa.String(length=40), nullable=True),
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=80), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id", "order_id"],
            ["orders.organization_id", "orders.id"],
            name=op.f("fk_order_returns_organization_id_order_id_orders"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("organization_id", "order_id", "id", name=op.f("pk_order_returns")),
    )
    with op.batch_alter_table("order_returns", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_order_returns_organization_id_id"),
            ["organization_id", "id"],
            unique=True,
        )

    op.create_table(
        "order_shipments",
        sa.Column("organization_id", sa.String(length=32), nullable=False),
        sa.Column("order_id", sa.String(length=17), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "shipped",
                "in_transit",
                "out_for_delivery",
                "delivered",
                "failed",
                "returned",
                "cancelled",
                name="shipment_status",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("carrier", sa.String(length=64), nullable=True),
        sa.Column("tracking_number", sa.String(length=255), nullable=True),
        sa.Column("tracking_url", sa.String(length=2048), nullable=True),
        sa.Column("lines", sa.JSON(), nullable=False),
        sa.Column("shipped_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated", sa.DateTime(timezone=True), nullable=False),
        sa.Column("external_id", sa.String(length=255), nullable=True),
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=80), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id", "order_id"],
            ["orders.organization_id", "orders.id"],
            name=op.f("fk_order_shipments_organization_id_order_id_orders"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "organization_id", "order_id", "id", name=op.f("pk_order_shipments")
        ),
    )
    with op.batch_alter_table("order_shipments", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_order_shipments_organization_id_id"),
            ["organization_id", "id"],
            unique=True,
        )
        batch_op.create_index(
            batch_op.f("ix_order_shipments_organization_id_order_id_external_id"),
            ["organization_id", "order_id", "external_id"],
            unique=True,
        )

    # Plain ADD COLUMN on both engines (SQLite's batch mode would copy the orders table, and
    # its search triggers with it).
    for name in ("fulfilled_quantity", "returned_quantity"):
        op.add_column(
            "order_line_items", sa.Column(name, sa.Integer(), server_default="0", nullable=False)
        )
    op.add_column(
        "orders", sa.Column("refunded_amount", sa.BigInteger(), server_default="0", nullable=False)
    )
    op.add_column(
        "orders", sa.Column("record_kinds", sa.SmallInteger(), server_default="0", nullable=False)
    )
    op.add_column("organizations", sa.Column("time_zone", sa.String(length=64), nullable=True))


def downgrade() -> None:
    op.drop_column("organizations", "time_zone")
    op.drop_column("orders", "record_kinds")
    op.drop_column("orders", "refunded_amount")
    op.drop_column("order_line_items", "returned_quantity")
    op.drop_column("order_line_items", "fulfilled_quantity")

    with op.batch_alter_table("order_shipments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_order_shipments_organization_id_order_id_external_id"))
        batch_op.drop_index(batch_op.f("ix_order_shipments_organization_id_id"))

    op.drop_table("order_shipments")
    with op.batch_alter_table("order_returns", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_order_returns_organization_id_id"))

    op.drop_table("order_returns")
    with op.batch_alter_table("order_refunds", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_order_refunds_organization_id_order_id_external_id"))
        batch_op.drop_index(batch_op.f("ix_order_refunds_organization_id_id"))

    op.drop_table("order_refunds")
    with op.batch_alter_table("order_notes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_order_notes_organization_id_id"))

    op.drop_table("order_notes")
