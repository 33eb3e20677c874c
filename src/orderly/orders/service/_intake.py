"""New orders, and batch intake: many taken in at once (bulk create, import, a platform's
burst).

``new_order`` makes the rows of one new order from a create body (the API's, an import's, a
platform's) and ``insert`` writes them through the write path. A batch does the same three
steps, here once: make each item a new order or an error
(``prepare``), sort the new orders by their ``(source, external_id)`` against the organization's
orders and the batch itself (``sort_out``), and insert the rest together, falling back to one
savepoint each when a concurrent writer took an external id meanwhile (``insert_together``).
Items are named by a key of the caller's choosing: an index, a row number.
"""

from collections.abc import Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, Protocol, TypeVar

from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from orderly.auth.models import Organization
from orderly.core.errors import OrderlyError, ValidationFailed, validation_details
from orderly.core.ids import new_order_id
from orderly.orders import repository
from orderly.orders.schemas import OrderCreate, OrderImport
from orderly.orders.service._common import describe_error
from orderly.orders.service._content import prepare_content
from orderly.orders.statuses import StatusField

K = TypeVar("K", bound=Hashable)
ExternalKey = tuple[str, str]


@dataclass
class NewOrder:
    row: dict[str, Any]
    line_items: list[dict[str, Any]]
    history: list[dict[str, Any]]
    actor: str | None = None  # when not whoever the unit of work runs for (a platform's)

    @property
    def external_key(self) -> tuple[str, str] | None:
        external_id = self.row["external_id"]
        return None if external_id is None else (self.row["source"], external_id)


def new_order(
    organization: Organization,
    data: OrderCreate,
    change_source: str,
    now: datetime,
    *,
    phone_region: str | None = None,
) -> NewOrder:
    ingested = isinstance(data, OrderImport)
    content = prepare_content(organization, data, ingested=ingested, phone_region=phone_region)
    order_id = new_order_id()
    keys = {"organization_id": organization.id, "order_id": order_id}
    created = data.created or now
    statuses = {
        StatusField.STATUS: data.status,
        StatusField.PAYMENT_STATUS: data.payment_status,
        StatusField.FULFILLMENT_STATUS: data.fulfillment_status,
    }
    row = {
        "organization_id": organization.id,
        "id": order_id,
        **content.columns,
        **{f.value: value for f, value in statuses.items()},
        "created": created,
        "updated": (data.updated if isinstance(data, OrderImport) else None) or now,
    }
    if isinstance(data, OrderImport) and data.status_history:
        # An imported order brings its own history (a backup restored keeps its past).
        history = [
            {
                **keys,
                "seq": seq,
                "field": entry.field.value,
                "from_value": entry.from_,
                "to_value": entry.to,
                "at": entry.at,
                "source": entry.source,
            }
            for seq, entry in enumerate(data.status_history, start=1)
        ]
    else:
        history = [
            {
                **keys,
                "seq": seq,
                "field": f.value,
                "from_value": None,
                "to_value": value.value,
                "at": now,
                "source": change_source,
            }
            for seq, (f, value) in enumerate(statuses.items(), start=1)
        ]
    items = [{**keys, **item} for item in content.line_items]
    return NewOrder(row=row, line_items=items, history=history)


def insert(session: Session, new_orders: list[NewOrder]) -> None:
    repository.insert_orders(
        session,
        [o.row for o in new_orders],
        [item for o in new_orders for item in o.line_items],
        [entry for o in new_orders for entry in o.history],
        {o.row["id"]: o.actor for o in new_orders if o.actor},
    )


def prepare(
    items: Iterable[tuple[K, Any]], make: Callable[[Any], NewOrder]
) -> tuple[dict[K, NewOrder], dict[K, str]]:
    """``make(item)`` for each item: the new orders, and the errors (as the API words them) of
    the items that could not be made, both by key."""
    made: dict[K, NewOrder] = {}
    errors: dict[K, str] = {}
    for key, item in items:
        try:
            made[key] = make(item)
        except ValidationError as exc:
            errors[key] = describe_error(ValidationFailed(details=validation_details(exc.errors())))
        except OrderlyError as exc:
            errors[key] = describe_error(exc)
    return made, errors


class Keyed(Protocol):
    """What ``sort_out`` sorts: anything that names its ``(source, external_id)``."""

    @property
    def external_key(self) -> ExternalKey | None: ...


C = TypeVar("C", bound=Keyed)


@dataclass
class Sorted(Generic[K, C]):
    """Candidates sorted by their external ids."""

    new: dict[K, C] = field(default_factory=dict)
    existing: dict[K, str] = field(default_factory=dict)  # the organization's order of that id
    repeated: dict[K, K] = field(default_factory=dict)  # the earlier item with that id


def sort_out(
    session: Session,
    organization_id: str,
    candidates: Mapping[K, C],
    seen: dict[ExternalKey, K] | None = None,
) -> Sorted[K, C]:
    """Which candidates are new, which name an order the organization has, and which repeat an
    earlier item (of this batch, or of ``seen``: earlier batches of the same import, which
    this adds to)."""
    seen = {} if seen is None else seen
    keys = [key for new in candidates.values() if (key := new.external_key) is not None]
    existing = repository.find_by_external_ids(session, organization_id, keys)
    result: Sorted[K, C] = Sorted()
    for item, new in candidates.items():
        key = new.external_key
        if key is not None and key in existing:
            result.existing[item] = existing[key]
        elif key is not None and key in seen:
            result.repeated[item] = seen[key]
        else:
            if key is not None:
                seen[key] = item
            result.new[item] = new
    return result


def insert_together(session: Session, new: Mapping[K, NewOrder]) -> list[K]:
    """Insert the new orders with three statements; if another writer took one of their
    external ids meanwhile, each in a savepoint of its own instead. Returns the items not
    inserted for that (the others are)."""
    try:
        with session.begin_nested():
            insert(session, list(new.values()))
        return []
    except IntegrityError:
        pass
    taken = []
    for item, order in new.items():
        try:
            with session.begin_nested():
                insert(session, [order])
        except IntegrityError:
            taken.append(item)
    return taken
