"""What every part of the order service shares: its errors, who made a change, bulk limits."""

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from orderly.core.errors import (
    Conflict,
    NotFound,
    OrderlyError,
    ValidationFailed,
)

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
