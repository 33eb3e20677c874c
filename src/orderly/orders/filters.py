"""The list filters and sort, one definition shared by listing and export."""

import base64
import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from orderly.core import money
from orderly.core.http import QueryInt, has_unstorable_text
from orderly.orders.schemas import as_utc
from orderly.orders.statuses import FulfillmentStatus, OrderStatus, PaymentStatus

SORTABLE_FIELDS = ("created", "updated", "total_amount", "customer_name", "status")
MAX_SEARCH_LENGTH = 200


def _values(raw: str | None, allowed: type[StrEnum] | None, name: str) -> list[str] | None:
    """``"paid,failed"`` → ``["paid", "failed"]``, each checked against ``allowed``."""
    if raw is None or raw.strip() == "":
        return None
    values = [v.strip() for v in raw.split(",") if v.strip()]
    if allowed is not None:
        known = {m.value for m in allowed}
        unknown = [v for v in values if v not in known]
        if unknown:
            raise ValueError(f"Unknown {name} {unknown[0]!r}; expected one of {', '.join(known)}")
    return values


def _no_control_characters(value: str) -> str:
    if any(ord(ch) < 32 for ch in value):
        raise ValueError("Control characters are not allowed")
    return value


def _instant(raw: str, *, end_of_day: bool) -> datetime:
    """ISO 8601 date or date-time; a bare date is its first (or last) instant, in UTC."""
    text = raw.strip()
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            moment = datetime.combine(day, time.min, tzinfo=UTC)
            return moment + timedelta(days=1, microseconds=-1) if end_of_day else moment
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError("Not an ISO 8601 date or date-time") from None
    return as_utc(parsed)


class OrderFilters(BaseModel):
    """Query parameters that choose and order orders (``GET /orders`` and export)."""

    model_config = ConfigDict(extra="ignore")

    status: str | None = Field(default=None, description="One status, or several comma-separated.")
    payment_status: str | None = Field(default=None, description="Comma-separated allowed.")
    fulfillment_status: str | None = Field(default=None, description="Comma-separated allowed.")
    source: str | None = Field(
        default=None, max_length=1000, description="Comma-separated allowed."
    )
    search: str | None = Field(
        default=None,
        max_length=MAX_SEARCH_LENGTH,
        description="Substring of customer name, e-mail, phone, external id or number; "
        "case-insensitive, Arabic letter variants and diacritics folded.",
    )
    created_from: str | None = Field(default=None, description="ISO 8601; inclusive.")
    created_to: str | None = Field(default=None, description="ISO 8601; a bare date: its end.")
    sort: str = Field(
        default="-created",
        description=f"One of {', '.join(SORTABLE_FIELDS)}; prefix '-' for descending.",
    )

    @field_validator("status")
    @classmethod
    def _check_status(cls, raw: str | None) -> str | None:
        _values(raw, OrderStatus, "status")
        return raw

    @field_validator("payment_status")
    @classmethod
    def _check_payment(cls, raw: str | None) -> str | None:
        _values(raw, PaymentStatus, "payment_status")
        return raw

    @field_validator("fulfillment_status")
    @classmethod
    def _check_fulfillment(cls, raw: str | None) -> str | None:
        _values(raw, FulfillmentStatus, "fulfillment_status")
        return raw

    @field_validator("source", "search")
    @classmethod
    def _check_text(cls, raw: str | None) -> str | None:
        return None if raw is None else _no_control_characters(raw)

    @field_validator("created_from")
    @classmethod
    def _check_from(cls, raw: str | None) -> str | None:
        if raw:
            _instant(raw, end_of_day=False)
        return raw

    @field_validator("created_to")
    @classmethod
    def _check_to(cls, raw: str | None) -> str | None:
        if raw:
            _instant(raw, end_of_day=True)
        return raw

    @field_validator("sort")
    @classmethod
    def _check_sort(cls, raw: str) -> str:
        if raw.removeprefix("-") not in SORTABLE_FIELDS:
            raise ValueError(f"Sort by one of {', '.join(SORTABLE_FIELDS)}, optionally with '-'")
        return raw

    @model_validator(mode="after")
    def _range_in_order(self) -> "OrderFilters":
        if (
            self.created_from_at
            and self.created_to_at
            and self.created_from_at > self.created_to_at
        ):
            raise ValueError("created_from is after created_to")
        return self

    # Parsed views used by the repository.
    @property
    def statuses(self) -> list[str] | None:
        return _values(self.status, OrderStatus, "status")

    @property
    def payment_statuses(self) -> list[str] | None:
        return _values(self.payment_status, PaymentStatus, "payment_status")

    @property
    def fulfillment_statuses(self) -> list[str] | None:
        return _values(self.fulfillment_status, FulfillmentStatus, "fulfillment_status")

    @property
    def sources(self) -> list[str] | None:
        return _values(self.source, None, "source")

    @property
    def created_from_at(self) -> datetime | None:
        return _instant(self.created_from, end_of_day=False) if self.created_from else None

    @property
    def created_to_at(self) -> datetime | None:
        return _instant(self.created_to, end_of_day=True) if self.created_to else None

    @property
    def sort_field(self) -> str:
        return self.sort.removeprefix("-")

    @property
    def descending(self) -> bool:
        return self.sort.startswith("-")


class _OtherSort(ValueError):
    pass


@dataclass(frozen=True)
class Position:
    """Where a page ended: the sort value and id of its last order (a keyset cursor)."""

    sort: str
    value: Any
    id: str

    def encode(self) -> str:
        value = self.value.isoformat() if isinstance(self.value, datetime) else self.value
        raw = json.dumps([self.sort, None if value is None else str(value), self.id])
        return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, token: str, sort: str) -> "Position":
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
            cursor_sort, value, order_id = json.loads(raw)
            if not isinstance(order_id, str) or not isinstance(value, str | None):
                raise ValueError
            if cursor_sort != sort:
                raise _OtherSort("This cursor belongs to another sort order")
            if has_unstorable_text(order_id) or has_unstorable_text(value):
                raise ValueError
            field = sort.removeprefix("-")
            if value is not None and field in ("created", "updated"):
                value = as_utc(datetime.fromisoformat(value))
            elif value is not None and field == "total_amount":
                value = Decimal(value)
                # Only an amount an order can hold: finite, in range, at most 4 places.
                if not value.is_finite() or abs(value) >= money.MAX_AMOUNT:
                    raise ValueError
                money.to_storage(value)
        except _OtherSort as exc:
            raise ValueError(str(exc)) from None
        except (ValueError, TypeError, ArithmeticError, RecursionError):
            # base64's, JSON's and the codecs' own messages would only puzzle a client.
            raise ValueError("Not a cursor this API handed out") from None
        return cls(sort=sort, value=value, id=order_id)


class ListQuery(OrderFilters):
    page: Annotated[QueryInt, Field(ge=1, le=1_000_000)] = 1
    limit: Annotated[QueryInt, Field(ge=1, le=100)] = 20
    cursor: str | None = Field(
        default=None,
        max_length=2000,
        description="meta.next_cursor of the previous page: continues after it (keyset), "
        "as fast on the thousandth page as on the first. Use instead of page.",
    )

    @field_validator("cursor")
    @classmethod
    def _check_cursor(cls, cursor: str | None, info: ValidationInfo) -> str | None:
        if cursor is not None:
            if info.data.get("page", 1) != 1:
                raise ValueError("Send either page or cursor, not both")
            Position.decode(cursor, info.data.get("sort", "-created"))
        return cursor

    @property
    def after(self) -> Position | None:
        return None if self.cursor is None else Position.decode(self.cursor, self.sort)
