"""What every platform's order API looks like to Orderly: credentials, a walk through its
orders page by page, and the calls that tell it about a change.

A channel knows only its platform's documented shapes (docs/integrations.md names the page
each follows); the transport (``client``) and the rules of a walk (``integrations.sync``) are
shared.
"""

import json
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, Literal, Protocol

from orderly.core.http import parse_json
from orderly.integrations.models import Platform
from orderly.orders.statuses import OrderStatus


class MalformedAnswer(Exception):
    """The platform's answer is not the shape its documentation describes."""


@dataclass(frozen=True)
class Credentials:
    """A connection's API access, as set with ``PUT …/credentials`` (secrets included)."""

    values: Mapping[str, str]
    api_base_url: str | None = None

    def __getitem__(self, name: str) -> str:
        return self.values[name]


@dataclass(frozen=True)
class Call:
    """One HTTP request to the platform: ``path`` under the API's base URL, or a full URL
    the platform gave (a ``Link`` header's next page)."""

    method: str
    path: str
    params: Mapping[str, str] = field(default_factory=dict)
    json: Any = None
    form: Mapping[str, str] | None = None

    def describe(self) -> str:
        """The request as a log line: method, path and query, and its body."""
        query = "&".join(f"{k}={v}" for k, v in self.params.items())
        target = f"{self.path}?{query}" if query else self.path
        body = json.dumps(self.json) if self.json is not None else ""
        if self.form is not None:
            body = "&".join(f"{k}={v}" for k, v in self.form.items())
        return f"{self.method} {target} {body}".strip()


@dataclass(frozen=True)
class Answer:
    status: int
    headers: Mapping[str, str]  # names in lower case
    body: bytes

    def json(self) -> Any:
        """The body as the webhook receiver reads one: amounts exact (``Decimal``)."""
        try:
            return parse_json(self.body)
        except (ValueError, UnicodeDecodeError) as exc:
            raise MalformedAnswer(f"The answer is not JSON ({exc})") from None

    def time(self) -> datetime | None:
        """The platform's clock when it answered (its ``Date`` header)."""
        try:
            return parsedate_to_datetime(self.headers["date"]).astimezone(UTC)
        except (KeyError, TypeError, ValueError):
            return None


@dataclass
class Walk:
    """Where a walk through the platform's orders stands; kept with the connection after
    every stored page, so an interrupted walk goes on from the page after the last stored."""

    since: str  # ISO time: orders changed at or after it (created after it on Salla)
    page: int = 1
    next_url: str | None = None  # the platform's own next-page link (Shopify)
    started: str | None = None  # the platform's clock at the walk's first answer
    seen: int = 0
    total: int | None = None  # how many the platform says there are, when it says
    done: bool = False

    def as_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def of(cls, state: Mapping[str, Any]) -> "Walk":
        return cls(**{k: state[k] for k in cls.__dataclass_fields__ if k in state})

    @property
    def since_time(self) -> datetime:
        return datetime.fromisoformat(self.since)


@dataclass(frozen=True)
class Page:
    orders: list[Any]  # each as the platform's list gave it
    more: bool  # another page follows
    next_url: str | None = None
    total: int | None = None


@dataclass(frozen=True)
class Shipment:
    carrier: str | None
    tracking_number: str | None
    tracking_url: str | None
    lines: list[tuple[int, int]]  # (line position, units)


@dataclass(frozen=True)
class Change:
    """A change of an order made in Orderly, to tell the platform."""

    action: Literal["status", "shipment", "refund"]
    external_id: str
    status: OrderStatus | None = None
    shipment: Shipment | None = None
    refund_amount: str | None = None  # exact decimal, as text
    refund_reason: str | None = None

    def as_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def of(cls, data: Mapping[str, Any]) -> "Change":
        shipment = data.get("shipment")
        return cls(
            action=data["action"],
            external_id=data["external_id"],
            status=OrderStatus(data["status"]) if data.get("status") else None,
            shipment=Shipment(
                carrier=shipment["carrier"],
                tracking_number=shipment["tracking_number"],
                tracking_url=shipment["tracking_url"],
                lines=[(int(a), int(b)) for a, b in shipment["lines"]],
            )
            if shipment
            else None,
            refund_amount=data.get("refund_amount"),
            refund_reason=data.get("refund_reason"),
        )


class Caller(Protocol):
    """Makes a call to the platform (``client.PlatformClient``): retried, paced, checked."""

    async def __call__(self, call: Call) -> Answer: ...


class Channel(ABC):
    platform: Platform
    # The credential fields ``PUT …/credentials`` requires, and those that are secrets (never
    # shown again); the others (a shop's domain) are shown back.
    required: tuple[str, ...]
    secrets: tuple[str, ...]
    largest_page: int

    @abstractmethod
    def base_url(self, credentials: Credentials) -> str:
        """The API's documented base URL for these credentials (``api_base_url`` overrides)."""

    @abstractmethod
    def headers(self, credentials: Credentials) -> dict[str, str]:
        """How a request proves it is the merchant's app."""

    @abstractmethod
    def list_call(self, walk: Walk) -> Call:
        """The request for the walk's next page."""

    @abstractmethod
    def read_page(self, answer: Answer, walk: Walk) -> Page:
        """The orders of a list answer; ``MalformedAnswer`` if it is not one."""

    def as_webhook(self, order: Any, read_at: str) -> Any:
        """A listed order as the (parsed) body of the platform's order webhook, for the
        receiver's mapping (``platforms``): most platforms send the same object both ways.
        ``read_at`` is the platform's clock when it answered, for one whose order tells no time
        of its state."""
        return order

    webhook_topic: str | None = None  # the topic the mapping is told

    def pause_after(self, answer: Answer) -> float:
        """Seconds to wait before the next call, by the platform's rate-limit headers."""
        return 0.0

    @abstractmethod
    def pushed(self, change: Change) -> bool:
        """Whether the platform has a documented way to hear this change."""

    @abstractmethod
    async def push(self, call: Caller, change: Change) -> list[Call]:
        """Tell the platform; returns the calls made (for the log)."""


def reverse(table: Mapping[str, OrderStatus]) -> dict[OrderStatus, str]:
    """An ingestion table read backwards: for each of our statuses, the first platform state
    that means it (the tables list the platform's canonical state first)."""
    backwards: dict[OrderStatus, str] = {}
    for state, status in table.items():
        backwards.setdefault(status, state)
    return backwards


def iso(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def header_int(headers: Mapping[str, str], name: str) -> int | None:
    try:
        return int(headers[name])
    except (KeyError, ValueError):
        return None


def list_of(payload: Any, key: str) -> list[Any]:
    if not isinstance(payload, dict) or not isinstance(payload.get(key), list):
        raise MalformedAnswer(f"The answer has no '{key}' list")
    return list(payload[key])
