"""The transition table, checked as a model of the contract's rules (property-based)."""

from hypothesis import given
from hypothesis import strategies as st

from orderly.orders.statuses import (
    FulfillmentStatus,
    OrderStatus,
    PaymentStatus,
    StatusField,
    is_allowed,
)

FLOW = ["pending", "confirmed", "preparing", "ready", "shipped", "delivered"]
FINAL_ORDER = {"cancelled", "returned"}


@given(st.sampled_from(OrderStatus), st.sampled_from(OrderStatus))
def test_order_status_rules(current: OrderStatus, new: OrderStatus) -> None:
    allowed = is_allowed(StatusField.STATUS, current, new)
    if current == new:
        assert allowed
    elif current in FINAL_ORDER:
        assert not allowed
    elif new == "cancelled":
        assert allowed == (current in FLOW[:4])
    elif new == "returned":
        assert allowed == (current == "delivered")
    else:
        assert allowed == (FLOW.index(new) > FLOW.index(current))


@given(st.lists(st.sampled_from(OrderStatus), min_size=1, max_size=12))
def test_any_accepted_walk_never_goes_back_along_the_flow(walk: list[OrderStatus]) -> None:
    current = OrderStatus.PENDING
    for wanted in walk:
        if is_allowed(StatusField.STATUS, current, wanted):
            if current in FLOW and wanted in FLOW:
                assert FLOW.index(wanted) >= FLOW.index(current)
            current = wanted
    if current in FINAL_ORDER:
        assert all(
            not is_allowed(StatusField.STATUS, current, s) for s in OrderStatus if s != current
        )


@given(st.sampled_from(PaymentStatus), st.sampled_from(PaymentStatus))
def test_refunded_is_final_and_refunds_need_a_payment(
    current: PaymentStatus, new: PaymentStatus
) -> None:
    allowed = is_allowed(StatusField.PAYMENT_STATUS, current, new)
    if current == "refunded" and new != current:
        assert not allowed
    if new in ("refunded", "partially_refunded") and current in ("pending", "failed"):
        assert not allowed


@given(st.sampled_from(FulfillmentStatus), st.sampled_from(FulfillmentStatus))
def test_fulfillment_moves_freely(current: FulfillmentStatus, new: FulfillmentStatus) -> None:
    assert is_allowed(StatusField.FULFILLMENT_STATUS, current, new)
