"""WooCommerce: the REST API v3 order object, signed with the webhook's secret."""

import html
import re
from typing import Any

from orderly.integrations.platforms.base import (
    Headers,
    Platform,
    PlatformOrder,
    PlatformRefund,
    amount,
    as_list,
    as_object,
    join_name,
    line_item,
    lookup,
    require_base64_hmac,
    required_text,
    text,
    timestamp,
    total_of,
)
from orderly.orders.statuses import OrderStatus, PaymentStatus

STATUS = {
    "pending": OrderStatus.PENDING,
    "on-hold": OrderStatus.PENDING,
    "processing": OrderStatus.CONFIRMED,
    "completed": OrderStatus.DELIVERED,
    "cancelled": OrderStatus.CANCELLED,
}
PAYMENT = {
    "pending": PaymentStatus.PENDING,
    "on-hold": PaymentStatus.PENDING,
    "refunded": PaymentStatus.REFUNDED,
    "failed": PaymentStatus.FAILED,
}
PAID_WHEN_DATED = {"processing", "completed"}  # paid once WooCommerce records date_paid

# order.deleted sends only the id; other resources (products, coupons) are not orders.
ORDER_TOPICS = {"order.created", "order.updated", "order.restored"}

_PING = re.compile(rb"\s*webhook_id=\d+\s*")


def _name(value: Any) -> str | None:
    # WordPress stores names HTML-escaped ("Ship Your Idea &ndash; Color: Black").
    raw = text(value)
    return html.unescape(raw) if raw else None


class WooCommerce(Platform):
    key = "woocommerce"

    def verify(self, headers: Headers, body: bytes, secret: str) -> None:
        require_base64_hmac(headers, "x-wc-webhook-signature", body, secret)

    def is_ping(self, headers: Headers, body: bytes) -> bool:
        # Sent unsigned when the webhook is saved, to check that the URL answers.
        return _PING.fullmatch(body) is not None

    def topic(self, headers: Headers, payload: Any) -> str | None:
        return text(headers.get("x-wc-webhook-topic"))

    def to_order(self, payload: Any, topic: str | None) -> PlatformOrder | None:
        order = as_object(payload, "The body")
        if topic is not None and topic.lower() not in ORDER_TOPICS:
            return None
        billing = order.get("billing") or {}
        state = text(order.get("status"))
        payment = lookup(PAYMENT, state)
        if state in PAID_WHEN_DATED and (order.get("date_paid_gmt") or order.get("date_paid")):
            payment = PaymentStatus.PAID
        lines = [_line(item, i) for i, item in enumerate(as_list(order.get("line_items")))]
        return PlatformOrder(
            external_id=required_text(order.get("id"), "id"),
            fields={
                "external_number": text(order.get("number")),
                "customer_name": join_name(billing.get("first_name"), billing.get("last_name")),
                "customer_email": text(billing.get("email")),
                "customer_phone": text(billing.get("phone")),
                "products": lines,
                "subtotal": total_of(line["total"] for line in lines),
                "discount": amount(order.get("discount_total"), "discount_total"),
                "tax": amount(order.get("total_tax"), "total_tax"),
                "delivery_fee": amount(order.get("shipping_total"), "shipping_total"),
                "total_amount": amount(order.get("total"), "total"),
                "currency": text(order.get("currency")),
                "notes": text(order.get("customer_note")),
                "created": _gmt(order, "date_created"),
            },
            status=lookup(STATUS, state),
            payment_status=payment,
            updated_at=_gmt(order, "date_modified"),
            phone_region=text(billing.get("country")),
            meta={
                "platform_status": state,
                "payment_method": text(order.get("payment_method")),
                "payment_method_title": text(order.get("payment_method_title")),
                "transaction_id": text(order.get("transaction_id")),
                "order_key": text(order.get("order_key")),
            },
            refunds=_refunds(order),
        )


def _refunds(order: dict[str, Any]) -> list[PlatformRefund]:
    """The order object's ``refunds``: ``{id, reason, total}``, the total written negative
    (WooCommerce REST API v3, Order properties, "Order - Refunds properties")."""
    refunds = []
    for i, raw in enumerate(as_list(order.get("refunds"))):
        refund = as_object(raw, f"refunds.{i}")
        given = amount(text(refund.get("total")), f"refunds.{i}.total")
        if given is None or given == 0:
            continue
        refunds.append(
            PlatformRefund(
                external_id=required_text(refund.get("id"), f"refunds.{i}.id"),
                amount=abs(given),
                reason=text(refund.get("reason")),
            )
        )
    return refunds


def _gmt(order: dict[str, Any], name: str) -> Any:
    """WooCommerce sends each time twice: in the site's zone and in GMT; the GMT one is exact."""
    gmt = f"{name}_gmt"
    if order.get(gmt):
        return timestamp(order[gmt], gmt)
    return timestamp(order.get(name), name)


def _line(item: Any, index: int) -> dict[str, Any]:
    item = as_object(item, f"line_items.{index}")
    product = text(item.get("product_id"))
    return line_item(
        product_id=product if product not in (None, "0") else text(item.get("sku")),
        name=_name(item.get("name")),
        quantity_value=item.get("quantity"),
        price=amount(item.get("price"), f"line_items.{index}.price"),
        # The line before coupons, so lines add up to the subtotal and discount_total is apart.
        total=amount(item.get("subtotal"), f"line_items.{index}.subtotal")
        or amount(item.get("total"), f"line_items.{index}.total"),
    )
