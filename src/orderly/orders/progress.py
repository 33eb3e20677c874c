"""How far an order has come, and the statuses that follow from it: pure rules, no I/O.

An order's shipments, returns and refunds are its records; ``Progress`` holds what the rules
need of them (quantities per line, money refunded) and answers what may still be shipped,
returned or refunded, and which ``fulfillment_status``, ``payment_status`` and ``status`` the
order then has. The services read the records under the order's lock, ask here, and write.
"""

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from functools import cached_property

from orderly.core import money
from orderly.orders.statuses import (
    FulfillmentStatus,
    OrderStatus,
    PaymentStatus,
    ReturnStatus,
    ShipmentStatus,
    StatusField,
    is_allowed,
)

Quantities = Mapping[int, int]  # by line: the 1-based position in the order's products


def quantities(lines: Iterable[Mapping[str, int]]) -> dict[int, int]:
    """``[{"line": 1, "quantity": 2}, …]`` (as records keep them) by line."""
    by_line: dict[int, int] = {}
    for entry in lines:
        by_line[entry["line"]] = by_line.get(entry["line"], 0) + entry["quantity"]
    return by_line


def _total(records: Iterable[Quantities], line: int) -> int:
    return sum(record.get(line, 0) for record in records)


@dataclass(frozen=True)
class Parcel:
    status: str
    lines: Quantities


@dataclass(frozen=True)
class Comeback:
    """A return: requested, then received."""

    status: str
    lines: Quantities


@dataclass(frozen=True)
class Line:
    quantity: int
    total: Decimal  # the line's total, for a refund of some of its units


@dataclass(frozen=True)
class Progress:
    lines: Mapping[int, Line]
    parcels: Sequence[Parcel] = ()
    comebacks: Sequence[Comeback] = ()
    refunded_lines: Sequence[Quantities] = ()
    total_amount: Decimal = Decimal(0)
    refunded_amount: Decimal = Decimal(0)
    has_refunds: bool = False

    @cached_property
    def _sent(self) -> list[Quantities]:
        """The lines of parcels that were not cancelled."""
        return [p.lines for p in self.parcels if p.status != ShipmentStatus.CANCELLED]

    # ---- quantities per line ------------------------------------------------------------------

    def shipped(self, line: int) -> int:
        """In parcels that were not cancelled."""
        return _total(self._sent, line)

    def unshipped(self, line: int) -> int:
        return self.lines[line].quantity - self.shipped(line)

    def delivered(self, line: int) -> int:
        return _total((p.lines for p in self.parcels if p.status == ShipmentStatus.DELIVERED), line)

    def returned(self, line: int) -> int:
        """Come back: received returns, and parcels the carrier brought back undelivered."""
        received = (c.lines for c in self.comebacks if c.status == ReturnStatus.RECEIVED)
        sent_back = (p.lines for p in self.parcels if p.status == ShipmentStatus.RETURNED)
        return _total(received, line) + _total(sent_back, line)

    def returnable(self, line: int) -> int:
        """Delivered and not yet asked back."""
        return self.delivered(line) - _total((c.lines for c in self.comebacks), line)

    def refundable_units(self, line: int) -> int:
        return self.lines[line].quantity - _total(self.refunded_lines, line)

    @property
    def refundable_amount(self) -> Decimal:
        return self.total_amount - self.refunded_amount

    def amount_of(self, wanted: Quantities, currency: str) -> Decimal:
        """What ``wanted`` units of lines are worth: each line's total shared over its units,
        rounded to the currency (half up), and never more than is left to refund."""
        worth = sum(
            (
                self.lines[line].total * units / self.lines[line].quantity
                for line, units in wanted.items()
            ),
            Decimal(0),
        )
        return min(money.quantize(worth, currency), self.refundable_amount)

    # ---- derived statuses ----------------------------------------------------------------------

    @property
    def fulfillment_status(self) -> FulfillmentStatus:
        shipped = sum(self.shipped(line) for line in self.lines)
        if shipped == 0:
            return FulfillmentStatus.UNFULFILLED
        if sum(self.returned(line) for line in self.lines) >= shipped:
            return FulfillmentStatus.RETURNED
        if all(self.unshipped(line) <= 0 for line in self.lines):
            return FulfillmentStatus.FULFILLED
        return FulfillmentStatus.PARTIALLY_FULFILLED

    @property
    def payment_status(self) -> PaymentStatus | None:
        """``None`` while nothing is refunded: the status stays as it was set."""
        if not self.has_refunds:
            return None
        if self.refunded_amount >= self.total_amount:
            return PaymentStatus.REFUNDED
        return PaymentStatus.PARTIALLY_REFUNDED

    def order_status(self, current: str) -> str:
        """The status the order moves to on its own, or ``current``: ``shipped`` once every
        unit has left, ``delivered`` once every parcel has arrived, ``returned`` once all that
        was shipped has come back; each only where the transition table allows it."""
        fulfilment = self.fulfillment_status
        wanted = current
        if fulfilment == FulfillmentStatus.RETURNED:
            wanted = OrderStatus.RETURNED
        elif fulfilment == FulfillmentStatus.FULFILLED:
            sent = [p for p in self.parcels if p.status != ShipmentStatus.CANCELLED]
            if sent and all(p.status == ShipmentStatus.DELIVERED for p in sent):
                wanted = OrderStatus.DELIVERED
            else:
                wanted = OrderStatus.SHIPPED
        if wanted != current and is_allowed(StatusField.STATUS, current, wanted):
            return wanted
        return current

    def derived_statuses(self, current: Mapping[str, str]) -> dict[str, str]:
        """The order's three statuses after this progress, from ``current`` (as read): what
        the records decide replaces what was set by hand."""
        after = dict(current)
        if self.parcels:  # without shipments, fulfillment_status is whatever was set
            after["fulfillment_status"] = self.fulfillment_status.value
            after["status"] = self.order_status(current["status"])
        if (payment := self.payment_status) is not None:
            after["payment_status"] = payment.value
        return after
