"""Webhook secrets encrypted at rest (Fernet, ``core.crypto``); the column holds ciphertext.

Revision ID: 0007
Revises: 0006
"""

from collections.abc import Callable, Sequence

import sqlalchemy as sa
from alembic import op

from orderly.core.crypto import SEALED, SecretBox, secret_box

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_integrations = sa.table(
    "integrations",
    sa.column("organization_id", sa.String),
    sa.column("id", sa.String),
    sa.column("secret", sa.Text),
)


def _rewrite(change: Callable[[str], str | None]) -> None:
    bind = op.get_bind()
    rows = bind.execute(
        sa.select(_integrations.c.organization_id, _integrations.c.id, _integrations.c.secret)
    ).all()
    for organization_id, connection_id, secret in rows:
        new = change(secret)
        if new is not None:
            bind.execute(
                _integrations.update()
                .where(
                    _integrations.c.organization_id == organization_id,
                    _integrations.c.id == connection_id,
                )
                .values(secret=new)
            )


def _box() -> SecretBox:
    return secret_box(op.get_bind().engine.url.render_as_string(hide_password=False))


def upgrade() -> None:
    with op.batch_alter_table("integrations") as batch:  # SQLite copies the table
        batch.alter_column("secret", type_=sa.Text(), existing_nullable=False)
    box = _box()
    _rewrite(lambda secret: None if secret.startswith(SEALED) else box.seal(secret))


def downgrade() -> None:
    box = _box()
    _rewrite(lambda secret: box.open(secret) if secret.startswith(SEALED) else None)
    with op.batch_alter_table("integrations") as batch:
        batch.alter_column("secret", type_=sa.String(255), existing_nullable=False)
