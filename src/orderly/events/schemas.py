"""Request and response shapes of the events feed."""

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from orderly.core.http import QueryInt
from orderly.events.service import EVENT_TYPES


def parse_types(value: str | None) -> list[str]:
    """``order.created,order.deleted`` as a list, each a known event type."""
    if value is None:
        return []
    types = [part.strip() for part in value.split(",") if part.strip()]
    unknown = [kind for kind in types if kind not in EVENT_TYPES]
    if unknown:
        raise ValueError(f"Unknown event type {unknown[0]!r}; known: {', '.join(EVENT_TYPES)}")
    return types


class EventQuery(BaseModel):
    model_config = ConfigDict(extra="ignore")

    after: Annotated[QueryInt, Field(ge=0, le=2**62)] = Field(
        default=0,
        description="meta.next_cursor of the previous page (or an event's sequence): only"
        " events committed after it. 0 (default): from the oldest kept.",
    )
    type: str | None = Field(
        default=None,
        max_length=1000,
        description="Only these types, comma-separated (order.created,order.status_changed).",
    )
    order_id: Annotated[str, Field(min_length=1, max_length=64)] | None = Field(
        default=None, description="Only this order's events (a deleted order's included)."
    )
    limit: Annotated[QueryInt, Field(ge=1, le=1000)] = 100

    @field_validator("type")
    @classmethod
    def _known_types(cls, value: str | None) -> str | None:
        parse_types(value)
        return value

    @property
    def types(self) -> list[str]:
        return parse_types(self.type)


class EventData(BaseModel):
    order: dict[str, Any] = Field(
        description="The order as it is after the change (as GET /orders/{id} shows it);"
        " for order.deleted, only its id."
    )
    details: dict[str, Any] = Field(
        description="What changed: the source of a new order, the fields of an update,"
        " [field, from, to] per status change, the record a shipment or refund made.",
        examples=[{"source": "api", "changes": [["status", "pending", "confirmed"]]}],
    )


class Event(BaseModel):
    id: str = Field(description="Unique; a webhook's webhook-id.", examples=["evt_0mh3..."])
    type: str = Field(examples=["order.status_changed"], description=", ".join(EVENT_TYPES))
    sequence: int = Field(
        description="The organization's events are numbered in the order they committed."
    )
    occurred_at: datetime
    actor: str = Field(
        description="token:<token id>, user:<user id>, connection:<integration id>, cli, or"
        " system.",
    )
    order_id: str
    data: EventData


class EventListMeta(BaseModel):
    next_cursor: str = Field(
        description="Pass as after= to continue; with no new events, the same cursor again."
    )


class EventList(BaseModel):
    data: list[Event]
    count: int
    has_next: bool = Field(description="More events are already there after this page.")
    meta: EventListMeta
