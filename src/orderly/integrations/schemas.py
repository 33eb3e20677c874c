"""Request and response shapes of the Integrations API."""

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from orderly.core.http import QueryInt
from orderly.integrations.models import Outcome, Platform, PushState


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


# ---- sync: credentials, runs, backfills, pushes -----------------------------------------------

_Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]


class CredentialsSet(BaseModel):
    """A platform's API access for the reconciliation poll, backfills and push back. Each
    platform needs its own fields: WooCommerce ``store_url``, ``consumer_key``,
    ``consumer_secret``; Shopify ``shop_domain``, ``access_token``; Salla ``access_token``;
    Zid ``manager_token``, ``authorization``."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"shop_domain": "acme.myshopify.com", "access_token": "shpat_…", "push_back": True}
            ]
        },
    )

    store_url: _Text | None = None
    consumer_key: _Text | None = None
    consumer_secret: _Text | None = None
    shop_domain: _Text | None = None
    access_token: _Text | None = None
    manager_token: _Text | None = None
    authorization: _Text | None = None
    api_base_url: _Text | None = Field(
        default=None, description="Another address for the platform's API (a test server)."
    )
    push_back: bool = Field(
        default=False, description="Tell the platform about changes made in Orderly."
    )
    poll_interval_seconds: int = Field(
        default=600, ge=60, le=86_400, description="How often the reconciliation poll runs."
    )


class BackfillStart(BaseModel):
    model_config = ConfigDict(extra="forbid")

    since: datetime = Field(description="Take the platform's orders changed since this time.")


class SyncRun(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    kind: str = Field(description="poll (scheduled), sync (asked for) or backfill.")
    started: datetime
    finished: datetime | None
    requests: int = Field(description="Calls made to the platform, retries included.")
    seen: int
    created: int
    updated: int
    unchanged: int
    failed: int = Field(description="Not orders, or not readable: kept in the inbox.")
    error: str | None = Field(description="Why the run stopped early, if it did.")


class RunList(BaseModel):
    data: list[SyncRun]
    count: int


class BackfillProgress(BaseModel):
    since: str
    seen: int
    total: int | None = Field(description="How many the platform says there are, if it says.")


class SyncStatus(BaseModel):
    """A connection's sync: never a secret."""

    credentials: bool = Field(description="Whether platform credentials are set.")
    shown: dict[str, str] = Field(description="The credentials that are not secrets.")
    push_back: bool
    poll_interval_seconds: int
    attention: str | None = Field(
        description="Why the platform refused the credentials; polls wait for new ones."
    )
    last_poll: datetime | None
    next_poll: datetime | None
    cursor: str | None = Field(description="The next poll reads orders changed since this.")
    backfill: BackfillProgress | None
    runs: list[SyncRun]


class Push(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    integration_id: str = Field(validation_alias="connection_id")
    order_id: str
    external_id: str
    action: str = Field(description="status, shipment or refund.")
    change: dict[str, Any]
    state: str = Field(description="pending, sent, refused (4xx: retry by hand) or failed.")
    attempts: int
    created: datetime
    next_attempt_at: datetime
    finished: datetime | None
    last_status: int | None
    last_error: str | None
    last_request: str | None


class PushList(BaseModel):
    data: list[Push]
    count: int


class PushQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    state: PushState | None = None
    order_id: Annotated[str, StringConstraints(max_length=17)] | None = None
    limit: Annotated[QueryInt, Field(ge=1, le=100)] = 50
