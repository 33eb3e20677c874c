"""Platform sync: API credentials per connection, where its poll and backfill stand, the runs
that walked its orders, and the push-back outbox.

Revision ID: 0014
Revises: 0013
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_CONNECTION = (
    ["organization_id", "connection_id"],
    ["integrations.organization_id", "integrations.id"],
)


def upgrade() -> None:
    with op.batch_alter_table("integrations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("credentials", sa.Text(), nullable=True))
        batch_op.add_column(
            sa.Column("push_back", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(
            sa.Column("poll_interval_seconds", sa.Integer(), nullable=False, server_default="600")
        )
        batch_op.add_column(sa.Column("poll_state", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("backfill_state", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("next_poll", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("last_poll", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("lease_owner", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("attention", sa.Text(), nullable=True))
        batch_op.add_column(
            sa.Column("push_after", sa.BigInteger(), nullable=False, server_default="0")
        )

    op.create_table(
        "sync_runs",
        sa.Column("organization_id", sa.String(length=32), nullable=False),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("connection_id", sa.String(length=48), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("started", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished", sa.DateTime(timezone=True), nullable=True),
        sa.Column("requests", sa.Integer(), nullable=False),
        sa.Column("seen", sa.Integer(), nullable=False),
        sa.Column("created", sa.Integer(), nullable=False),
        sa.Column("updated", sa.Integer(), nullable=False),
        sa.Column("unchanged", sa.Integer(), nullable=False),
        sa.Column("failed", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            *_CONNECTION,
            name=op.f("fk_sync_runs_organization_id_connection_id_integrations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("organization_id", "id", name=op.f("pk_sync_runs")),
    )
    op.create_index(
        op.f("ix_sync_runs_organization_id_connection_id_started"),
        "sync_runs",
        ["organization_id", "connection_id", "started"],
    )

    op.create_table(
        "platform_pushes",
        sa.Column("organization_id", sa.String(length=32), nullable=False),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("connection_id", sa.String(length=48), nullable=False),
        sa.Column("order_id", sa.String(length=17), nullable=False),
        sa.Column("external_id", sa.String(length=255), nullable=False),
        sa.Column("event_sequence", sa.BigInteger(), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("change", sa.JSON(), nullable=False),
        sa.Column("last_request", sa.Text(), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_status", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            *_CONNECTION,
            name=op.f("fk_platform_pushes_organization_id_connection_id_integrations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("organization_id", "id", name=op.f("pk_platform_pushes")),
    )
    op.create_index(
        op.f("ix_platform_pushes_organization_id_connection_id_state_next_attempt_at"),
        "platform_pushes",
        ["organization_id", "connection_id", "state", "next_attempt_at"],
    )
    op.create_index(
        op.f("ix_platform_pushes_organization_id_order_id"),
        "platform_pushes",
        ["organization_id", "order_id"],
    )


def downgrade() -> None:
    op.drop_table("platform_pushes")
    op.drop_table("sync_runs")
    with op.batch_alter_table("integrations", schema=None) as batch_op:
        for column in (
            "push_after",
            "attention",
            "lease_until",
            "lease_owner",
            "last_poll",
            "next_poll",
            "backfill_state",
            "poll_state",
            "poll_interval_seconds",
            "push_back",
            "credentials",
        ):
            batch_op.drop_column(column)
