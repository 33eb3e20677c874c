"""Orders from an export file (``orderly import``): checked first, then written."""

from collections.abc import Sequence
from typing import Any

from sqlalchemy.orm import Session

from orderly.auth.models import Organization
from orderly.core.db import utc_now
from orderly.core.errors import (
    ValidationFailed,
)
from orderly.orders.schemas import (
    OrderImport,
)
from orderly.orders.service import _intake
from orderly.orders.service._common import SOURCE_IMPORT, DuplicateOrder, describe_error
from orderly.orders.service._intake import NewOrder, insert, new_order


def _import_candidates(
    session: Session,
    organization: Organization,
    records: Sequence[tuple[int, Any]],
    seen: dict[tuple[str, str], int],
) -> tuple[dict[int, NewOrder], dict[int, str]]:
    """Imported records as new orders, or errors by row number (external ids seen earlier in
    the same import are in ``seen``, and are added to it)."""
    now = utc_now()
    candidates, errors = _intake.prepare(
        records,
        lambda raw: new_order(organization, OrderImport.model_validate(raw), SOURCE_IMPORT, now),
    )
    sorted_out = _intake.sort_out(session, organization.id, candidates, seen)
    for row, order_id in sorted_out.existing.items():
        errors[row] = describe_error(DuplicateOrder(details={"id": order_id}))
    for row in sorted_out.repeated:
        errors[row] = "Duplicate of an earlier row (same source and external_id)"
    return sorted_out.new, errors


def check_import(
    session: Session,
    organization: Organization,
    records: Sequence[tuple[int, Any]],
    seen: dict[tuple[str, str], int],
) -> dict[int, str]:
    """What is wrong with a batch of imported records, by row number; writes nothing."""
    return _import_candidates(session, organization, records, seen)[1]


def import_batch(
    session: Session,
    organization: Organization,
    records: Sequence[tuple[int, Any]],
    seen: dict[tuple[str, str], int],
) -> int:
    """Insert a batch of records that ``check_import`` found sound; returns how many."""
    accepted, errors = _import_candidates(session, organization, records, seen)
    if errors:
        raise ValidationFailed("Import failed", {str(row): e for row, e in errors.items()})
    insert(session, list(accepted.values()))
    return len(accepted)
