"""Shopify: the REST order object, signed with the app's client secret."""

from typing import Any

from orderly.integrations.platforms.base import (
    Headers,
    Platform,
    PlatformOrder,
    PlatformRefund,
    PlatformShipment,
    amount,
    as_list,
    as_object,
    dig,
    join_name,
    line_item,
    line_positions,
    lookup,
    quantity,
    require_base64_hmac,
    required_text,
    text,
    timestamp,
    total_of,
)
from orderly.orders.statuses import FulfillmentStatus, OrderStatus, PaymentStatus, ShipmentStatus

PAYMENT = {
    "pending": PaymentStatus.PENDING,
    "authorized": PaymentStatus.PENDING,
    "partially_paid": PaymentStatus.PENDING,
    "paid": PaymentStatus.PAID,
    "partially_refunded": PaymentStatus.PARTIALLY_REFUNDED,
    "refunded": PaymentStatus.REFUNDED,
    "voided": PaymentStatus.FAILED,
}
FULFILLMENT = {
    "unfulfilled": FulfillmentStatus.UNFULFILLED,
    "partial": FulfillmentStatus.PARTIALLY_FULFILLED,
    "fulfilled": FulfillmentStatus.FULFILLED,
}

# A fulfillment's `status` (pending, open, success, cancelled, error, failure): the last three
# never left; the others are tracked by `shipment_status` (docs: REST Admin API, Fulfillment).
_NEVER_LEFT = {"cancelled", "error", "failure"}
TRACKING = {
    "label_printed": ShipmentStatus.SHIPPED,
    "label_purchased": ShipmentStatus.SHIPPED,
    "confirmed": ShipmentStatus.SHIPPED,
    "ready_for_pickup": ShipmentStatus.SHIPPED,
    "in_transit": ShipmentStatus.IN_TRANSIT,
    "out_for_delivery": ShipmentStatus.OUT_FOR_DELIVERY,
    "attempted_delivery": ShipmentStatus.FAILED,
    "failure": ShipmentStatus.FAILED,
    "delivered": ShipmentStatus.DELIVERED,
}

# Topics whose body is the full order object; orders/delete sends only an id, orders/edited an
# edit summary, and neither says what the order now is.
ORDER_TOPICS = {
    "orders/create",
    "orders/updated",
    "orders/paid",
    "orders/cancelled",
    "orders/fulfilled",
    "orders/partially_fulfilled",
}


def _status(order: dict[str, Any]) -> tuple[str, OrderStatus]:
    if order.get("cancelled_at"):
        return "cancelled", OrderStatus.CANCELLED
    fulfillment = text(order.get("fulfillment_status")) or "unfulfilled"
    return fulfillment, OrderStatus.SHIPPED if fulfillment == "fulfilled" else OrderStatus.PENDING


class Shopify(Platform):
    max_body_bytes = 8 * 1024 * 1024
    key = "shopify"

    def verify(self, headers: Headers, body: bytes, secret: str) -> None:
        require_base64_hmac(headers, "x-shopify-hmac-sha256", body, secret)

    def topic(self, headers: Headers, payload: Any) -> str | None:
        return text(headers.get("x-shopify-topic"))

    def event_id(self, headers: Headers) -> str | None:
        return text(headers.get("x-shopify-event-id")) or text(headers.get("x-shopify-webhook-id"))

    def to_order(self, payload: Any, topic: str | None) -> PlatformOrder | None:
        order = as_object(payload, "The body")
        if topic is not None and topic.lower() not in ORDER_TOPICS:
            return None
        customer = order.get("customer") or {}
        billing = order.get("billing_address") or {}
        shipping_address = order.get("shipping_address") or {}
        platform_status, status = _status(order)
        items = as_list(order.get("line_items"))
        positions = line_positions([item.get("id") for item in items if isinstance(item, dict)])
        financial = text(order.get("financial_status"))
        delivery_fee = amount(
            dig(order, "total_shipping_price_set", "shop_money", "amount"),
            "total_shipping_price_set",
        )
        if delivery_fee is None:
            delivery_fee = total_of(
                amount(line.get("price"), f"shipping_lines.{i}.price")
                for i, line in enumerate(as_list(order.get("shipping_lines")))
                if isinstance(line, dict)
            )
        return PlatformOrder(
            external_id=required_text(order.get("id"), "id"),
            fields={
                "external_number": text(order.get("name")),
                "customer_name": join_name(customer.get("first_name"), customer.get("last_name"))
                or text(billing.get("name")),
                "customer_email": text(order.get("email"))
                or text(order.get("contact_email"))
                or text(customer.get("email")),
                "customer_phone": text(order.get("phone")) or text(customer.get("phone")),
                "products": [_line(item, i) for i, item in enumerate(as_list(order["line_items"]))]
                if "line_items" in order
                else [],
                "subtotal": amount(order.get("total_line_items_price"), "total_line_items_price"),
                "discount": amount(order.get("total_discounts"), "total_discounts"),
                "tax": amount(order.get("total_tax"), "total_tax"),
                "delivery_fee": delivery_fee,
                "total_amount": amount(order.get("total_price"), "total_price"),
                "currency": text(order.get("currency")),
                "notes": text(order.get("note")),
                "created": timestamp(order.get("created_at"), "created_at"),
            },
            status=status,
            payment_status=lookup(PAYMENT, financial),
            fulfillment_status=lookup(FULFILLMENT, text(order.get("fulfillment_status")))
            or (FulfillmentStatus.UNFULFILLED if order.get("fulfillment_status") is None else None),
            updated_at=timestamp(order.get("updated_at"), "updated_at"),
            phone_region=text(billing.get("country_code"))
            or text(shipping_address.get("country_code")),
            meta={
                "platform_status": platform_status,
                "platform_payment_status": financial,
                "cancel_reason": text(order.get("cancel_reason")),
                "payment_methods": [text(g) for g in as_list(order.get("payment_gateway_names"))],
                "order_number": text(order.get("order_number")),
                "admin_graphql_api_id": text(order.get("admin_graphql_api_id")),
            },
            shipments=_fulfillments(order, positions),
            refunds=_refunds(order, positions),
        )


def _lines_of(entries: Any, positions: dict[str, int], what: str) -> list[tuple[int, int]]:
    """(line, units) of a fulfillment's or refund's items, by their line item ids."""
    lines = []
    for i, entry in enumerate(as_list(entries)):
        entry = as_object(entry, f"{what}.{i}")
        line_id = text(entry.get("line_item_id") or entry.get("id"))
        units = quantity(entry.get("quantity"))
        if line_id in positions and units:
            lines.append((positions[line_id], units))
    return lines


def _fulfillments(order: dict[str, Any], positions: dict[str, int]) -> list[PlatformShipment]:
    shipments = []
    for i, raw in enumerate(as_list(order.get("fulfillments"))):
        fulfillment = as_object(raw, f"fulfillments.{i}")
        state = text(fulfillment.get("status"))
        status = (
            ShipmentStatus.CANCELLED
            if state in _NEVER_LEFT
            else lookup(TRACKING, text(fulfillment.get("shipment_status")))
            or ShipmentStatus.SHIPPED
        )
        lines = _lines_of(fulfillment.get("line_items"), positions, f"fulfillments.{i}.line_items")
        if not lines:
            continue
        shipments.append(
            PlatformShipment(
                external_id=required_text(fulfillment.get("id"), f"fulfillments.{i}.id"),
                status=status,
                lines=lines,
                carrier=text(fulfillment.get("tracking_company")),
                tracking_number=text(fulfillment.get("tracking_number")),
                tracking_url=text(fulfillment.get("tracking_url")),
                shipped_at=timestamp(fulfillment.get("created_at"), f"fulfillments.{i}.created_at"),
            )
        )
    return shipments


def _refunds(order: dict[str, Any], positions: dict[str, int]) -> list[PlatformRefund]:
    """A refund's amount is what its successful refund transactions gave back."""
    refunds = []
    for i, raw in enumerate(as_list(order.get("refunds"))):
        refund = as_object(raw, f"refunds.{i}")
        given = total_of(
            amount(t.get("amount"), f"refunds.{i}.transactions.{j}.amount")
            for j, t in enumerate(as_list(refund.get("transactions")))
            if isinstance(t, dict) and t.get("kind") == "refund" and t.get("status") == "success"
        )
        if not given:
            continue
        refunds.append(
            PlatformRefund(
                external_id=required_text(refund.get("id"), f"refunds.{i}.id"),
                amount=given,
                lines=_lines_of(
                    refund.get("refund_line_items"), positions, f"refunds.{i}.refund_line_items"
                ),
                note=text(refund.get("note")),
                restock=refund.get("restock") is True,
            )
        )
    return refunds


def _line(item: Any, index: int) -> dict[str, Any]:
    item = as_object(item, f"line_items.{index}")
    return line_item(
        product_id=text(item.get("product_id")) or text(item.get("sku")),
        name=text(item.get("name")) or text(item.get("title")),
        quantity_value=item.get("quantity"),
        price=amount(item.get("price"), f"line_items.{index}.price"),
        total=None,
    )
