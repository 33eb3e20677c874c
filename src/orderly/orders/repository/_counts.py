"""The maintained counts: how many orders an organization has per statuses and source.

Adjusted by the write path (``_writes``) in every write's own transaction; read by the list's
``total_count`` and the dashboard's tabs.
"""

import random
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from orderly.orders.models import OrderCount, OrderRow
from orderly.orders.plain import COUNTED
from orderly.orders.repository._queries import dialect_of, table

CountKey = tuple[str, str, str, str]  # status, payment status, fulfillment status, source
_COUNT_SHARDS = 8


def count_key(order: OrderRow | dict[str, Any]) -> CountKey:
    get = order.get if isinstance(order, dict) else lambda name: getattr(order, name)
    status, payment_status, fulfillment_status, source = (str(get(name)) for name in COUNTED)
    return status, payment_status, fulfillment_status, source


@lru_cache(maxsize=4)
def _count_upsert(dialect: str) -> Any:
    """``INSERT … ON CONFLICT DO UPDATE n = n + excluded.n``, built once so that SQLAlchemy
    compiles it once (a statement rebuilt per call costs about a millisecond)."""
    chosen = table(OrderCount)
    statement = (postgresql_insert if dialect == "postgresql" else sqlite_insert)(chosen)
    return statement.on_conflict_do_update(
        index_elements=list(chosen.primary_key), set_={"n": chosen.c.n + statement.excluded.n}
    )


def adjust_counts(session: Session, organization_id: str, deltas: Mapping[CountKey, int]) -> None:
    dialect = dialect_of(session)
    # Sorted, so that concurrent transactions lock counter rows in the same order.
    rows = [
        {
            "organization_id": organization_id,
            "status": key[0],
            "payment_status": key[1],
            "fulfillment_status": key[2],
            "source": key[3],
            "shard": random.randrange(_COUNT_SHARDS) if dialect == "postgresql" else 0,
            "n": delta,
        }
        for key, delta in sorted(deltas.items())
        if delta
    ]
    if rows:
        session.connection().execute(_count_upsert(dialect), rows)
