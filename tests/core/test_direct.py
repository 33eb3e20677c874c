"""``DirectQuery`` answers exactly what SQLAlchemy's own execution answers, on both engines."""

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import Select, bindparam, exc, func, select
from sqlalchemy.orm import Session

from orderly.core.direct import DirectQuery
from orderly.orders.models import OrderRow
from tests.conftest import MakeOrder

ORDERS = OrderRow.__table__.c


def both_ways(db: Session, statement: Select[Any], values: dict[str, Any]) -> list[Any]:
    """The rows DirectQuery gives, after checking them against SQLAlchemy's."""
    expected = [tuple(row) for row in db.execute(statement, values).all()]
    direct = DirectQuery(statement).rows(db, values)
    assert [tuple(row) for row in direct] == expected
    return direct


class TestDirectQuery:
    def test_converts_values_both_ways_as_sqlalchemy_does(
        self, db: Session, make_order: MakeOrder
    ) -> None:
        made = [
            make_order(meta={"gift": True, "note": "هدية"}, created="2024-05-01T10:00:00+03:00"),
            make_order(created="2024-05-02T00:00:00Z"),
            make_order(created="2023-01-01T00:00:00Z"),
        ]
        organization_id = made[0]["organization_id"]
        statement = (
            select(ORDERS.id, ORDERS.meta, ORDERS.created, ORDERS.total_amount, ORDERS.status)
            .where(
                ORDERS.organization_id == bindparam("organization_id"),
                ORDERS.id.in_(bindparam("ids", expanding=True)),
                ORDERS.created >= bindparam("since", type_=ORDERS.created.type),
                ORDERS.total_amount <= bindparam("most", type_=ORDERS.total_amount.type),
            )
            .order_by(ORDERS.created)
        )
        values = {
            "organization_id": organization_id,
            "ids": [order["id"] for order in made],
            # Stored as UTC: only converted does 10:00+03:00 match the first order (07:00Z).
            "since": datetime(2024, 5, 1, 10, tzinfo=timezone(timedelta(hours=3))),
            "most": Decimal("100000"),  # stored as 10^-4 units: only converted is it above all
        }

        rows = both_ways(db, statement, values)

        assert [row.id for row in rows] == [made[0]["id"], made[1]["id"]]
        assert rows[0].meta == {"gift": True, "note": "هدية"}
        assert rows[0].created == datetime(2024, 5, 1, 7, tzinfo=UTC)
        assert rows[0]._asdict()["status"] == "pending"

    def test_lists_of_any_length_and_fixed_arguments(
        self, db: Session, make_order: MakeOrder
    ) -> None:
        made = [make_order() for _ in range(3)]
        statement = select(ORDERS.id, func.upper(ORDERS.id, type_=ORDERS.id.type)).where(
            ORDERS.id.in_(bindparam("ids", expanding=True)),
            ORDERS.currency == "SAR",  # a value fixed in the statement
        )
        for ids in ([made[0]["id"]], [order["id"] for order in made], []):
            rows = both_ways(db, statement.order_by(ORDERS.id), {"ids": ids})
            assert sorted(row.id for row in rows) == sorted(ids)

    def test_a_driver_error_is_sqlalchemys_error(self, db: Session) -> None:
        statement = select(func.orderly_no_such_function(ORDERS.id))
        with pytest.raises(exc.DBAPIError):
            DirectQuery(statement).rows(db, {})
