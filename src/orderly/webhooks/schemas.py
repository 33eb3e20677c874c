"""Request and response shapes of webhook endpoints and their delivery log."""

from datetime import datetime
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
)

from orderly.core.http import QueryInt
from orderly.core.outbound import literal_refusal
from orderly.events.service import EVENT_TYPES
from orderly.webhooks.models import DeliveryState

ALL_EVENTS = "*"
Description = Annotated[str, StringConstraints(strip_whitespace=True, max_length=255)]


def _check_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("Must be an http:// or https:// URL with a host")
    if parts.username or parts.password:
        raise ValueError("Must not carry a user name or password (the signature proves origin)")
    reason = literal_refusal(url)
    if reason:
        raise ValueError(f"Not reachable from outside: {reason}")
    return url


def _check_events(events: list[str]) -> list[str]:
    if not events:
        raise ValueError('Name at least one event type, or ["*"] for all')
    unknown = [kind for kind in events if kind != ALL_EVENTS and kind not in EVENT_TYPES]
    if unknown:
        raise ValueError(f"Unknown event type {unknown[0]!r}; known: {', '.join(EVENT_TYPES)}")
    return [ALL_EVENTS] if ALL_EVENTS in events else list(dict.fromkeys(events))


Url = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]
_EVENTS_DESCRIPTION = f'The event types to send, or ["*"] for every one: {", ".join(EVENT_TYPES)}.'


class EndpointCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "url": "https://erp.example.com/hooks/orderly",
                    "events": ["order.created", "order.status_changed"],
                    "description": "ERP",
                }
            ]
        },
    )

    url: Url
    events: list[str] = Field(default=[ALL_EVENTS], max_length=50, description=_EVENTS_DESCRIPTION)
    description: Description | None = None
    enabled: bool = True

    _url = field_validator("url")(_check_url)
    _events = field_validator("events")(_check_events)


class EndpointUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: Url | None = None
    events: list[str] | None = Field(default=None, max_length=50, description=_EVENTS_DESCRIPTION)
    description: Description | None = None
    enabled: bool | None = Field(
        default=None,
        description="false pauses deliveries; true resumes them, with what was missed meanwhile.",
    )

    @field_validator("url")
    @classmethod
    def _a_url(cls, url: str | None) -> str | None:
        return None if url is None else _check_url(url)

    @field_validator("events")
    @classmethod
    def _some_events(cls, events: list[str] | None) -> list[str] | None:
        return None if events is None else _check_events(events)


class EndpointHealth(BaseModel):
    attempts_24h: int = Field(description="Delivery attempts in the last 24 hours.")
    success_rate_24h: float | None = Field(
        description="Share of those answered 2xx (null with none)."
    )
    pending: int = Field(description="Deliveries waiting to be sent.")
    last_attempt_at: datetime | None
    last_error: str | None = Field(description="The last failed attempt's error or status.")


class Endpoint(BaseModel):
    id: str
    url: str
    events: list[str]
    description: str | None
    enabled: bool
    disabled_reason: str | None = Field(
        description="Why Orderly disabled it (410 Gone, or failing for the whole retry window)."
    )
    failing_since: datetime | None
    created: datetime
    updated: datetime
    health: EndpointHealth


class EndpointCreated(Endpoint):
    secret: str = Field(
        description="whsec_…: shown this once. Verify each delivery's webhook-signature with it"
        " (Standard Webhooks)."
    )


class EndpointList(BaseModel):
    data: list[Endpoint]
    count: int


class DeliveryQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    state: DeliveryState | None = None
    page: Annotated[QueryInt, Field(ge=1, le=1_000_000)] = 1
    limit: Annotated[QueryInt, Field(ge=1, le=100)] = 20


class Attempt(BaseModel):
    number: int
    at: datetime
    status_code: int | None = Field(description="The endpoint's answer; null if none came.")
    duration_ms: int
    response: str | None = Field(description="The answer's first 1 KiB.")
    error: str | None = Field(description="Why the attempt failed (timeout, refused, 500 …).")


class Delivery(BaseModel):
    id: str
    event_id: str
    event_type: str
    event_sequence: int
    order_id: str
    state: DeliveryState
    attempts: int
    created: datetime
    next_attempt_at: datetime | None = Field(description="While pending: when it is tried next.")
    finished: datetime | None
    attempt_log: list[Attempt]


class DeliveryList(BaseModel):
    data: list[Delivery]
    count: int
    total_count: int
    page: int
    limit: int
    has_next: bool


class Resend(BaseModel):
    model_config = ConfigDict(extra="forbid")

    since: AwareDatetime = Field(
        description="Every kept event that occurred at or after this time is sent again, in"
        " order (events are kept ORDERLY_EVENT_RETENTION_DAYS, 30 by default)."
    )


class Queued(BaseModel):
    queued: int


class TestResult(BaseModel):
    delivered: bool
    status_code: int | None
    duration_ms: int
    response: str | None
    error: str | None


def endpoint_fields(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "url": row.url,
        "events": row.event_types,
        "description": row.description,
        "enabled": row.enabled,
        "disabled_reason": row.disabled_reason,
        "failing_since": row.failing_since,
        "created": row.created,
        "updated": row.updated,
    }
