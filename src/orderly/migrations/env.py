"""Alembic environment: runs the revisions in ``versions/`` against the configured database."""

from alembic import context
from sqlalchemy import create_engine, pool

from orderly.audit import models as _audit_models  # noqa: F401  (registers tables)
from orderly.auth import models as _auth_models  # noqa: F401  (registers tables)
from orderly.core.db import Base, include_name
from orderly.events import models as _event_models  # noqa: F401  (registers tables)
from orderly.idempotency import models as _idempotency_models  # noqa: F401  (registers tables)
from orderly.integrations import models as _integration_models  # noqa: F401  (registers tables)
from orderly.orders import models as _order_models  # noqa: F401  (registers tables)
from orderly.webhooks import models as _webhook_models  # noqa: F401  (registers tables)

config = context.config
connectable = config.attributes.get("connection")


def run(connection: object) -> None:
    context.configure(
        connection=connection,  # type: ignore[arg-type]
        target_metadata=Base.metadata,
        render_as_batch=True,  # SQLite alters tables by copying them
        compare_type=True,
        include_name=include_name,
    )
    with context.begin_transaction():
        context.run_migrations()


if connectable is not None:
    run(connectable)
else:
    engine = create_engine(config.get_main_option("sqlalchemy.url") or "", poolclass=pool.NullPool)
    with engine.connect() as connection:
        run(connection)
    engine.dispose()
