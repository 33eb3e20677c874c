"""Zid: the Order schema (alone, or as the ``order`` member of an API response), sent with
HTTP Basic credentials whose password is the connection's secret."""

import base64
import binascii
from decimal import Decimal
from typing import Any

from orderly.integrations.platforms.base import (
    Headers,
    Platform,
    PlatformOrder,
    Unverified,
    amount,
    as_list,
    as_object,
    dig,
    line_item,
    lookup,
    require_equal,
    required_text,
    text,
    timestamp,
    total_of,
)
from orderly.orders.statuses import OrderStatus, PaymentStatus

STATUS = {
    "new": OrderStatus.PENDING,
    "preparing": OrderStatus.PREPARING,
    "ready": OrderStatus.READY,
    "indelivery": OrderStatus.SHIPPED,
    "delivered": OrderStatus.DELIVERED,
    "cancelled": OrderStatus.CANCELLED,
    "reversed": OrderStatus.RETURNED,
    "refunded": OrderStatus.RETURNED,
}
PAYMENT = {status.value: status for status in PaymentStatus}

# Lines of the order's invoice, by their code.
_SUBTOTAL = "sub_totals_before_vat"
_TAX = "vat"
_SHIPPING = ("shipping", "shipping_fee")
_DISCOUNT = ("discount", "coupon", "coupon_discount")


class Zid(Platform):
    key = "zid"

    def verify(self, headers: Headers, body: bytes, secret: str) -> None:
        scheme, _, credentials = (headers.get("authorization") or "").partition(" ")
        if scheme.lower() != "basic" or not credentials:
            raise Unverified("Missing Authorization: Basic")
        try:
            decoded = base64.b64decode(credentials.strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            raise Unverified("Authorization is not valid Basic credentials") from None
        _user, _, password = decoded.partition(":")
        require_equal(password, secret, "Authorization password")

    def topic(self, headers: Headers, payload: Any) -> str | None:
        return text(dig(payload, "event"))

    def to_order(self, payload: Any, topic: str | None) -> PlatformOrder | None:
        body = as_object(payload, "The body")
        order = as_object(body["order"], "order") if isinstance(body.get("order"), dict) else body
        customer = order.get("customer") or {}
        invoice = {
            text(line.get("code")): line.get("value")
            for line in as_list(dig(order, "payment", "invoice"))
            if isinstance(line, dict)
        }

        def invoice_amount(*codes: str) -> Decimal | None:
            found = [amount(invoice[c], f"payment.invoice.{c}") for c in codes if c in invoice]
            total = total_of(found)
            return abs(total) if total is not None else None

        # The Order schema nests the status ({code, name}); some events send the code alone.
        raw_status = order.get("order_status")
        state = text(dig(raw_status, "code")) if isinstance(raw_status, dict) else text(raw_status)
        payment = text(order.get("payment_status"))
        return PlatformOrder(
            external_id=required_text(order.get("id"), "id"),
            fields={
                "external_number": text(order.get("code")),
                "customer_name": text(customer.get("name")),
                "customer_email": text(customer.get("email")),
                "customer_phone": text(customer.get("mobile")),
                "products": [
                    _line(item, i) for i, item in enumerate(as_list(order.get("products")))
                ],
                "subtotal": invoice_amount(_SUBTOTAL),
                "discount": invoice_amount(*_DISCOUNT),
                "tax": invoice_amount(_TAX),
                "delivery_fee": invoice_amount(*_SHIPPING),
                "total_amount": amount(order.get("order_total"), "order_total"),
                "currency": text(order.get("currency_code"))
                or text(dig(order, "currency", "order_currency", "code")),
                "notes": text(order.get("customer_note")),
                "created": timestamp(order.get("created_at"), "created_at"),
            },
            status=lookup(STATUS, state),
            payment_status=lookup(PAYMENT, payment),
            updated_at=timestamp(order.get("updated_at"), "updated_at"),
            phone_region=text(dig(order, "shipping", "address", "country", "code")),
            meta={
                "platform_status": state,
                "platform_status_name": text(dig(raw_status, "name")),
                "platform_payment_status": payment,
                "payment_method": text(dig(order, "payment", "method", "code")),
                "store_id": text(order.get("store_id")),
            },
        )


def _line(item: Any, index: int) -> dict[str, Any]:
    item = as_object(item, f"products.{index}")
    return line_item(
        product_id=text(item.get("id")) or text(item.get("sku")),
        name=item.get("name"),
        quantity_value=item.get("quantity"),
        price=amount(item.get("price"), f"products.{index}.price"),
        total=amount(item.get("total"), f"products.{index}.total"),
    )
