"""Order statuses and the one table of which changes are allowed."""

from enum import StrEnum


class OrderStatus(StrEnum):
    PENDING = "pending"
    CONFIRMED = "confirmed"
    PREPARING = "preparing"
    READY = "ready"
    SHIPPED = "shipped"
    DELIVERED = "delivered"
    CANCELLED = "cancelled"
    RETURNED = "returned"


class PaymentStatus(StrEnum):
    PENDING = "pending"
    PAID = "paid"
    REFUNDED = "refunded"
    PARTIALLY_REFUNDED = "partially_refunded"
    FAILED = "failed"


class FulfillmentStatus(StrEnum):
    UNFULFILLED = "unfulfilled"
    PARTIALLY_FULFILLED = "partially_fulfilled"
    FULFILLED = "fulfilled"
    RETURNED = "returned"


class ShipmentStatus(StrEnum):
    """Where a parcel is: handed to the carrier (``shipped``), then as the carrier tracks it.
    ``returned``: back to the merchant undelivered; ``cancelled``: never left (its quantities
    count as unshipped again)."""

    SHIPPED = "shipped"
    IN_TRANSIT = "in_transit"
    OUT_FOR_DELIVERY = "out_for_delivery"
    DELIVERED = "delivered"
    FAILED = "failed"
    RETURNED = "returned"
    CANCELLED = "cancelled"


class ReturnStatus(StrEnum):
    REQUESTED = "requested"
    RECEIVED = "received"


class StatusField(StrEnum):
    STATUS = "status"
    PAYMENT_STATUS = "payment_status"
    FULFILLMENT_STATUS = "fulfillment_status"


_FLOW = [
    OrderStatus.PENDING,
    OrderStatus.CONFIRMED,
    OrderStatus.PREPARING,
    OrderStatus.READY,
    OrderStatus.SHIPPED,
    OrderStatus.DELIVERED,
]

# Forward along the flow (skipping steps is fine), never back. Cancelling is possible until the
# order leaves the building; a return only after delivery; cancelled and returned are final.
_ORDER_NEXT: dict[str, set[str]] = {
    step: set(_FLOW[i + 1 :]) | ({OrderStatus.CANCELLED} if i <= 3 else set())
    for i, step in enumerate(_FLOW)
}
_ORDER_NEXT[OrderStatus.DELIVERED].add(OrderStatus.RETURNED)
_ORDER_NEXT[OrderStatus.CANCELLED] = set()
_ORDER_NEXT[OrderStatus.RETURNED] = set()

_PAYMENT_NEXT: dict[str, set[str]] = {
    PaymentStatus.PENDING: {PaymentStatus.PAID, PaymentStatus.FAILED},
    PaymentStatus.FAILED: {PaymentStatus.PENDING, PaymentStatus.PAID},
    PaymentStatus.PAID: {PaymentStatus.PARTIALLY_REFUNDED, PaymentStatus.REFUNDED},
    PaymentStatus.PARTIALLY_REFUNDED: {
        PaymentStatus.PARTIALLY_REFUNDED,
        PaymentStatus.REFUNDED,
    },
    PaymentStatus.REFUNDED: set(),
}

_FULFILLMENT_NEXT: dict[str, set[str]] = {
    value: set(FulfillmentStatus) for value in FulfillmentStatus
}

ALLOWED_TRANSITIONS: dict[StatusField, dict[str, set[str]]] = {
    StatusField.STATUS: _ORDER_NEXT,
    StatusField.PAYMENT_STATUS: _PAYMENT_NEXT,
    StatusField.FULFILLMENT_STATUS: _FULFILLMENT_NEXT,
}


# A parcel's tracking moves either way among the carrier's states (a failed attempt is followed
# by another); delivered may still come back, and cancelled and returned are final.
_TRACKED = {
    ShipmentStatus.SHIPPED,
    ShipmentStatus.IN_TRANSIT,
    ShipmentStatus.OUT_FOR_DELIVERY,
    ShipmentStatus.DELIVERED,
    ShipmentStatus.FAILED,
    ShipmentStatus.RETURNED,
}
SHIPMENT_NEXT: dict[str, set[str]] = {
    **{state: _TRACKED | {ShipmentStatus.CANCELLED} for state in _TRACKED},
    ShipmentStatus.DELIVERED: {ShipmentStatus.RETURNED},
    ShipmentStatus.RETURNED: set(),
    ShipmentStatus.CANCELLED: set(),
}


def is_allowed(field: StatusField, current: str, new: str) -> bool:
    """Whether ``field`` may move from ``current`` to ``new``; setting the same value is a no-op."""
    return current == new or new in ALLOWED_TRANSITIONS[field][current]


def next_statuses(field: StatusField, current: str) -> list[str]:
    """The values ``field`` may move to from ``current``, in the enum's order (the dashboard
    offers these moves only)."""
    allowed = ALLOWED_TRANSITIONS[field][current] - {current}
    members = {
        StatusField.STATUS: OrderStatus,
        StatusField.PAYMENT_STATUS: PaymentStatus,
        StatusField.FULFILLMENT_STATUS: FulfillmentStatus,
    }[field]
    return [member.value for member in members if member.value in allowed]
