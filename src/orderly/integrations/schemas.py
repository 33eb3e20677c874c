"""Request and response shapes of the Integrations API."""

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from orderly.core.http import QueryInt
from orderly.integrations.models import Outcome, Platform


class ConnectionCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"platform": "salla", "name": "متجر الرياض"}]},
    )

    platform: Platform
    name: (
        Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=255)]
        | None
    ) = None
    secret: (
        Annotated[str, StringConstraints(strip_whitespace=True, min_length=8, max_length=255)]
        | None
    ) = Field(
        default=None,
        description="The platform's webhook secret (Salla, Shopify and HungerStation issue one);"
        " generated when left out.",
    )


class Connection(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    platform: Platform
    name: str
    webhook_url: str
    created: datetime


class ConnectionCreated(Connection):
    secret: str = Field(description="Shown this once; store it in the platform's webhook form.")


class ConnectionList(BaseModel):
    data: list[Connection]
    count: int


class DeliveryQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    outcome: Outcome | None = None
    page: Annotated[QueryInt, Field(ge=1, le=1_000_000)] = 1
    limit: Annotated[QueryInt, Field(ge=1, le=100)] = 20


class Delivery(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    integration_id: str = Field(validation_alias="connection_id")
    received: datetime
    topic: str | None
    event_id: str | None
    verified: bool
    outcome: Outcome
    error: str | None
    external_id: str | None
    order_id: str | None
    attempts: int
    processed: datetime | None


class DeliveryDetail(Delivery):
    headers: dict[str, str]
    body: str = Field(description="The request body as received (UTF-8; invalid bytes replaced).")

    @field_validator("body", mode="before")
    @classmethod
    def _as_text(cls, value: Any) -> Any:
        return value.decode("utf-8", "replace") if isinstance(value, bytes) else value


class DeliveryList(BaseModel):
    data: list[Delivery]
    count: int
    total_count: int
    page: int
    limit: int
    has_next: bool


class WebhookReceived(BaseModel):
    """A webhook's receipt: ``delivery_id`` and ``outcome`` when it was stored and processed."""

    received: bool
    delivery_id: str | None = None
    outcome: str | None = None
