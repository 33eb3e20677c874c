"""The interface every platform module implements, and the helpers they share.

A platform knows three things: how it proves a request came from it (``verify``), what the
request is about (``topic``, ``event_id``), and how its order reads as ours (``to_order``).
Everything after that (upsert, history, stale events) is the same for all and lives in the
services.
"""

import base64
import hashlib
import hmac
from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from orderly.orders.service import PlatformRefund as PlatformRefund
from orderly.orders.service import PlatformShipment as PlatformShipment
from orderly.orders.statuses import FulfillmentStatus, OrderStatus, PaymentStatus

Headers = Mapping[str, str]  # names in lower case


class Unverified(Exception):
    """The request's proof of origin is missing or wrong; the message says which."""


class MappingFailed(Exception):
    """The payload cannot be read as an order; the message says where."""


def line_positions(line_ids: list[Any]) -> dict[str, int]:
    """A platform's line item ids by the 1-based position each line takes in the order."""
    return {str(line_id): position for position, line_id in enumerate(line_ids, start=1)}


@dataclass
class PlatformOrder:
    """A platform's order in our terms, ready for ``orders.service.ingest_order``.

    ``fields`` are ``OrderImport`` fields; a status left ``None`` is one the platform's state
    does not tell (or one we have no name for), and leaves the stored order's value alone.
    """

    external_id: str
    fields: dict[str, Any]
    status: OrderStatus | None = None
    payment_status: PaymentStatus | None = None
    fulfillment_status: FulfillmentStatus | None = None
    # The platform's own time of this state; orders events that arrive out of order.
    updated_at: datetime | None = None
    # Country the customer's phone is read in when it has no country code.
    phone_region: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    # The platform's own fulfilments (with tracking) and refunds, where its payload has them.
    shipments: list[PlatformShipment] = field(default_factory=list)
    refunds: list[PlatformRefund] = field(default_factory=list)


class Platform(ABC):
    key: str
    # The largest webhook body accepted. No platform here publishes a maximum for its order
    # webhooks; an order of 1,000 line items in their formats stays under 2 MiB, and Shopify's
    # (prices in two currencies, tax and discount lines per item) can pass a megabyte, so it
    # gets more (docs/integrations.md).
    max_body_bytes: int = 2 * 1024 * 1024

    @abstractmethod
    def verify(self, headers: Headers, body: bytes, secret: str) -> None:
        """Raise ``Unverified`` unless the request carries the platform's proof for ``secret``."""

    def is_ping(self, headers: Headers, body: bytes) -> bool:
        """A request the platform sends to test the URL, answered 200 and not stored."""
        return False

    def topic(self, headers: Headers, payload: Any) -> str | None:
        """The event's name (``order.created``, ``orders/updated``), when the platform says."""
        return None

    def event_id(self, headers: Headers) -> str | None:
        """The platform's id of this event, the same on every re-delivery, when it sends one."""
        return None

    @abstractmethod
    def to_order(self, payload: Any, topic: str | None) -> PlatformOrder | None:
        """The order in the payload; ``None`` when the event is about no order we keep."""


# ---- proofs of origin ---------------------------------------------------------------------


def hmac_sha256(secret: str, body: bytes) -> bytes:
    return hmac.new(secret.encode(), body, hashlib.sha256).digest()


def require_equal(given: str | None, expected: str, header: str) -> None:
    """Constant-time comparison of a header with what it must be."""
    if not given:
        raise Unverified(f"Missing {header}")
    if not hmac.compare_digest(given.strip().encode(), expected.encode()):
        raise Unverified(f"{header} does not match")


def require_base64_hmac(headers: Headers, header: str, body: bytes, secret: str) -> None:
    expected = base64.b64encode(hmac_sha256(secret, body)).decode()
    require_equal(headers.get(header), expected, header)


# ---- reading payloads ---------------------------------------------------------------------


def dig(payload: Any, *path: str) -> Any:
    """``payload[a][b]…``, or ``None`` where a step is missing or not an object."""
    for step in path:
        if not isinstance(payload, dict):
            return None
        payload = payload.get(step)
    return payload


def as_object(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise MappingFailed(f"{what} is not a JSON object")
    return value


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def text(value: Any) -> str | None:
    """A string, an integer id written out in full, or ``None`` for empty values."""
    if value is None or isinstance(value, bool | dict | list):
        return None
    if isinstance(value, Decimal):  # a decimal id such as 12.0 is not an id we can trust
        value = format(value, "f")
    result = str(value).strip()
    return result or None


def required_text(value: Any, what: str) -> str:
    result = text(value)
    if result is None:
        raise MappingFailed(f"{what} is missing")
    return result


def join_name(*parts: Any) -> str | None:
    return " ".join(p for p in (text(part) for part in parts) if p) or None


def amount(value: Any, what: str) -> Decimal | None:
    """An exact amount from a JSON number or a numeric string (``"100.00000000000000"``)."""
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, int | Decimal | str):
        raise MappingFailed(f"{what} is not an amount: {value!r}")
    try:
        result = Decimal(value.strip()) if isinstance(value, str) else Decimal(value)
    except InvalidOperation:
        raise MappingFailed(f"{what} is not an amount: {value!r}") from None
    if not result.is_finite():
        raise MappingFailed(f"{what} is not an amount: {value!r}")
    return result


def total_of(values: Iterable[Decimal | None]) -> Decimal | None:
    present = [v for v in values if v is not None]
    return sum(present, Decimal(0)) if present else None


def quantity(value: Any) -> int | None:
    """A line's quantity; ``None`` when it is not a whole number (the caller picks a default)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    try:
        number = Decimal(value.strip()) if isinstance(value, str) else Decimal(value)
    except (InvalidOperation, TypeError, ValueError):
        return None
    return int(number) if number.is_finite() and number == number.to_integral_value() else None


def line_item(
    *, product_id: Any, name: Any, quantity_value: Any, price: Decimal | None, total: Decimal | None
) -> dict[str, Any]:
    """One line in our shape. A quantity that is not a whole number of at least one (Delivery
    Hero's samples send ``"string"``) counts as 1 rather than losing the order; a missing unit
    price is the line total over the quantity."""
    count = quantity(quantity_value)
    count = count if count is not None and count >= 1 else 1
    if price is None:
        price = total / count if total is not None else Decimal(0)
    return {
        "product_id": text(product_id),
        "name": text(name),
        "quantity": count,
        "price": price,
        "total": total,
    }


def timestamp(value: Any, what: str, zone: str | None = None) -> datetime | None:
    """An ISO 8601 time in UTC; one without an offset is read in ``zone`` (default UTC)."""
    raw = text(value)
    if raw is None:
        return None
    try:
        parsed = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise MappingFailed(f"{what} is not a time: {raw!r}") from None
    return in_utc(parsed, zone)


def in_utc(value: datetime, zone: str | None) -> datetime:
    if value.tzinfo is None:
        try:
            value = value.replace(tzinfo=ZoneInfo(zone) if zone else UTC)
        except (ZoneInfoNotFoundError, ValueError):
            raise MappingFailed(f"Unknown time zone {zone!r}") from None
    return value.astimezone(UTC)


T = TypeVar("T")


def lookup(table: Mapping[str, T], state: str | None) -> T | None:
    return table.get(state.strip().lower()) if state else None
