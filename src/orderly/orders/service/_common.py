"""What every part of the order service shares: its errors, who made a change, bulk limits."""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from orderly.core.errors import (
    Conflict,
    NotFound,
    OrderlyError,
    PreconditionFailed,
    ValidationFailed,
)
from orderly.orders import plain

MAX_BULK_ITEMS = 1000

# Who made a change, as recorded in status history.
SOURCE_API = "api"
SOURCE_BULK = "bulk"
SOURCE_IMPORT = "import"


class OrderNotFound(NotFound):
    message = "Order not found"


class DuplicateOrder(Conflict):
    message = "Order already exists"


class InvalidTransition(ValidationFailed):
    message = "Invalid status transition"


class DerivedStatus(ValidationFailed):
    message = "This status follows from the order's records"


class OrderChanged(PreconditionFailed):
    message = "The order has changed since it was read"


def etag(updated: str | datetime) -> str:
    """An order's entity tag: its ``updated`` time as the API writes it. Every write that
    changes what ``GET /orders/{id}`` shows moves ``updated``, so equal tags mean equal orders."""
    return plain.etag(updated)


def check_if_match(if_match: str | None, updated: str | datetime) -> None:
    """``If-Match`` (RFC 9110, strong comparison): ``*`` or a list of tags, one of which must be
    the order's; a weak tag (``W/"…"``) never matches. No header: no condition. ``updated``
    in any form ``plain.etag`` reads."""
    if if_match is None:
        return
    tags = {tag.strip() for tag in if_match.split(",")}
    if "*" not in tags and etag(updated) not in tags:
        raise OrderChanged(details={"if_match": f"The order's ETag is now {etag(updated)}"})


@dataclass
class BulkOutcome:
    succeeded: int = 0
    errors: dict[str, str] = field(default_factory=dict)
    ids: dict[str, str] | None = None

    @property
    def failed(self) -> int:
        return len(self.errors)


def describe_error(error: OrderlyError) -> str:
    """One line for a bulk item: the error and what it is about."""
    if not error.details:
        return error.message
    parts = ", ".join(f"{key}: {value}" for key, value in error.details.items())
    return f"{error.message} ({parts})"


def check_bulk_size(items: Sequence[Any], name: str) -> None:
    if not items:
        raise ValidationFailed(details={name: "Send at least one item"})
    if len(items) > MAX_BULK_ITEMS:
        raise ValidationFailed(details={name: f"At most {MAX_BULK_ITEMS} items per request"})
