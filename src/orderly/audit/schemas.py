"""Request and response shapes of the audit trail."""

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from orderly.core.http import QueryInt


class AuditQuery(BaseModel):
    model_config = ConfigDict(extra="ignore")

    order_id: Annotated[str, Field(min_length=1, max_length=64)] | None = Field(
        default=None, description="Only this order's events (deleted orders included)."
    )
    page: Annotated[QueryInt, Field(ge=1, le=1_000_000)] = 1
    limit: Annotated[QueryInt, Field(ge=1, le=100)] = 20


class AuditEvent(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    at: datetime
    actor: str = Field(
        description="token:<token id>, connection:<integration id> (a platform's webhook),"
        " cli, or system.",
        examples=["token:tok_4zw5bf8mvjhr_2k9d0c1x"],
    )
    action: str = Field(description="created, updated, status_changed or deleted.")
    order_id: str
    details: dict[str, Any]


class AuditList(BaseModel):
    data: list[AuditEvent]
    count: int
    total_count: int
    page: int
    limit: int
    has_next: bool
