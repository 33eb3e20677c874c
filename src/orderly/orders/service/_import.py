"""Orders from an export file (``orderly import``): checked first, then written."""

from collections.abc import Sequence
from typing import Any

from pydantic import ValidationError
from sqlalchemy.orm import Session

from orderly.auth.models import Organization
from orderly.core.db import utc_now
from orderly.core.errors import (
    OrderlyError,
    ValidationFailed,
    validation_details,
)
from orderly.orders import repository
from orderly.orders.schemas import (
    OrderImport,
)
from orderly.orders.service._common import SOURCE_IMPORT, DuplicateOrder, describe_error
from orderly.orders.service._orders import NewOrder, insert, new_order


def _import_candidates(
    session: Session,
    organization: Organization,
    records: Sequence[tuple[int, Any]],
    seen: set[tuple[str, str]],
) -> tuple[list[NewOrder], dict[int, str]]:
    """Imported records as new orders, or errors by row number (external ids seen earlier in
    the same import are in ``seen``, and are added to it)."""
    now = utc_now()
    candidates: list[tuple[int, NewOrder]] = []
    errors: dict[int, str] = {}
    for row, raw in records:
        try:
            candidates.append(
                (row, new_order(organization, OrderImport.model_validate(raw), SOURCE_IMPORT, now))
            )
        except ValidationError as exc:
            errors[row] = describe_error(ValidationFailed(details=validation_details(exc.errors())))
        except OrderlyError as exc:
            errors[row] = describe_error(exc)
    keys = [key for _, new in candidates if (key := new.external_key) is not None]
    existing = repository.find_by_external_ids(session, organization.id, keys)
    accepted = []
    for row, new in candidates:
        key = new.external_key
        if key is not None and key in existing:
            errors[row] = describe_error(DuplicateOrder(details={"id": existing[key]}))
        elif key is not None and key in seen:
            errors[row] = "Duplicate of an earlier row (same source and external_id)"
        else:
            if key is not None:
                seen.add(key)
            accepted.append(new)
    return accepted, errors


def check_import(
    session: Session,
    organization: Organization,
    records: Sequence[tuple[int, Any]],
    seen: set[tuple[str, str]],
) -> dict[int, str]:
    """What is wrong with a batch of imported records, by row number; writes nothing."""
    return _import_candidates(session, organization, records, seen)[1]


def import_batch(
    session: Session,
    organization: Organization,
    records: Sequence[tuple[int, Any]],
    seen: set[tuple[str, str]],
) -> int:
    """Insert a batch of records that ``check_import`` found sound; returns how many."""
    accepted, errors = _import_candidates(session, organization, records, seen)
    if errors:
        raise ValidationFailed("Import failed", {str(row): e for row, e in errors.items()})
    insert(session, accepted)
    return len(accepted)
