"""Salla: ``{event, merchant, created_at, data}`` envelopes signed with the app's webhook secret."""

from datetime import datetime
from typing import Any

from orderly.integrations.platforms.base import (
    Headers,
    MappingFailed,
    Platform,
    PlatformOrder,
    PlatformShipment,
    Unverified,
    amount,
    as_list,
    as_object,
    dig,
    hmac_sha256,
    in_utc,
    join_name,
    line_item,
    lookup,
    require_equal,
    required_text,
    text,
    total_of,
)
from orderly.orders.statuses import OrderStatus, PaymentStatus, ShipmentStatus

# For each of our statuses its canonical Salla state comes first: push back sends that one.
STATUS = {
    "under_review": OrderStatus.PENDING,
    "payment_pending": OrderStatus.PENDING,
    "in_progress": OrderStatus.PREPARING,
    "completed": OrderStatus.READY,
    "shipped": OrderStatus.SHIPPED,
    "delivering": OrderStatus.SHIPPED,
    "delivered": OrderStatus.DELIVERED,
    "canceled": OrderStatus.CANCELLED,
    "restored": OrderStatus.RETURNED,
}
PAYMENT = {"payment_pending": PaymentStatus.PENDING}

# Events that carry no order to keep (its deletion is the merchant's business on Salla).
_NOT_ORDERS = {"order.deleted"}


def salla_time(value: Any) -> datetime | None:
    """Salla writes times as ``{date, timezone}`` objects or as JavaScript date strings."""
    if isinstance(value, dict):
        raw = text(value.get("date"))
        if raw is None:
            return None
        try:
            parsed = datetime.fromisoformat(raw)
        except ValueError:
            raise MappingFailed(f"Not a time: {raw!r}") from None
        return in_utc(parsed, text(value.get("timezone")))
    raw = text(value)
    if raw is None:
        return None
    try:  # "Sun Jun 26 2022 12:21:48 GMT+0300"
        return in_utc(datetime.strptime(raw, "%a %b %d %Y %H:%M:%S GMT%z"), None)
    except ValueError:
        pass
    try:
        return in_utc(datetime.fromisoformat(raw.replace("Z", "+00:00")), None)
    except ValueError:
        raise MappingFailed(f"Not a time: {raw!r}") from None


def _money(value: Any, what: str) -> Any:
    """Salla amounts are ``{amount, currency}`` objects (sometimes bare numbers)."""
    return amount(value.get("amount") if isinstance(value, dict) else value, what)


class Salla(Platform):
    key = "salla"

    def verify(self, headers: Headers, body: bytes, secret: str) -> None:
        strategy = (headers.get("x-salla-security-strategy") or "Signature").strip().lower()
        if strategy == "token":
            require_equal(headers.get("authorization"), secret, "Authorization")
        elif strategy == "signature":
            require_equal(
                headers.get("x-salla-signature", "").lower(),
                hmac_sha256(secret, body).hex(),
                "X-Salla-Signature",
            )
        else:
            raise Unverified(f"Unknown X-Salla-Security-Strategy {strategy!r}")

    def topic(self, headers: Headers, payload: Any) -> str | None:
        return text(dig(payload, "event"))

    def to_order(self, payload: Any, topic: str | None) -> PlatformOrder | None:
        envelope = as_object(payload, "The body")
        if topic is None or not topic.startswith("order.") or topic in _NOT_ORDERS:
            return None
        data = as_object(envelope.get("data"), "data")
        # order.status.updated carries a status-history entry with the order inside it.
        order = as_object(data["order"], "data.order") if "order" in data else data
        amounts = order.get("amounts") or {}
        currency = text(order.get("currency")) or text(dig(amounts, "total", "currency"))
        customer = order.get("customer") or {}
        mobile = text(customer.get("mobile"))
        if mobile and not mobile.startswith("+"):
            mobile = (text(customer.get("mobile_code")) or "") + mobile
        slug = text(dig(order, "status", "slug"))
        discounts = [
            amount(d.get("discount"), f"amounts.discounts.{i}.discount")
            for i, d in enumerate(as_list(amounts.get("discounts")))
            if isinstance(d, dict)
        ]
        return PlatformOrder(
            external_id=required_text(order.get("id"), "data.id"),
            fields={
                "external_number": text(order.get("reference_id")),
                "customer_name": text(customer.get("name"))
                or join_name(customer.get("first_name"), customer.get("last_name")),
                "customer_email": text(customer.get("email")),
                "customer_phone": mobile,
                "products": [_line(item, i) for i, item in enumerate(as_list(order.get("items")))],
                "subtotal": _money(amounts.get("sub_total"), "amounts.sub_total"),
                "discount": total_of(discounts),
                "tax": _money(dig(amounts, "tax", "amount"), "amounts.tax.amount"),
                "delivery_fee": _money(amounts.get("shipping_cost"), "amounts.shipping_cost"),
                "total_amount": _money(amounts.get("total"), "amounts.total"),
                "currency": currency,
                "created": salla_time(order.get("date")),
            },
            status=lookup(STATUS, slug),
            payment_status=lookup(PAYMENT, slug),
            updated_at=salla_time(envelope.get("created_at")),
            phone_region=text(customer.get("country_code")),
            meta={
                "platform_status": slug,
                "platform_status_name": text(dig(order, "status", "name")),
                "payment_method": text(order.get("payment_method")),
                "merchant_id": text(envelope.get("merchant")),
                "cash_on_delivery_fee": text(
                    _money(amounts.get("cash_on_delivery"), "amounts.cash_on_delivery")
                ),
            },
            shipments=_shipments(order),
        )


# A shipment's `status` (Salla's order webhook model, `shipments`): those not yet handed to the
# courier carry no tracking number and are left until they do.
SHIPMENT_STATUS = {
    "created": ShipmentStatus.SHIPPED,
    "in_progress": ShipmentStatus.SHIPPED,
    "shipped": ShipmentStatus.IN_TRANSIT,
    "delivering": ShipmentStatus.OUT_FOR_DELIVERY,
    "delivered": ShipmentStatus.DELIVERED,
    "returned": ShipmentStatus.RETURNED,
    "cancelled": ShipmentStatus.CANCELLED,
    "canceled": ShipmentStatus.CANCELLED,
}


def _shipments(order: dict[str, Any]) -> list[PlatformShipment]:
    """Salla's shipments name no lines: each with a tracking number carries the whole order
    (what is not shipped yet)."""
    shipments = []
    for i, raw in enumerate(as_list(order.get("shipments"))):
        shipment = as_object(raw, f"shipments.{i}")
        number = text(shipment.get("tracking_number")) or text(shipment.get("shipping_number"))
        if number is None or shipment.get("type") not in (None, "shipment"):
            continue
        shipments.append(
            PlatformShipment(
                external_id=required_text(shipment.get("id"), f"shipments.{i}.id"),
                status=lookup(SHIPMENT_STATUS, text(shipment.get("status")))
                or ShipmentStatus.SHIPPED,
                carrier=text(shipment.get("courier_name")),
                tracking_number=number,
                tracking_url=text(shipment.get("tracking_link")),
            )
        )
    return shipments


def _line(item: Any, index: int) -> dict[str, Any]:
    item = as_object(item, f"items.{index}")
    item_amounts = item.get("amounts") or {}
    return line_item(
        product_id=text(item.get("product_id")) or text(dig(item, "product", "id")),
        name=item.get("name"),
        quantity_value=item.get("quantity"),
        price=_money(item_amounts.get("price_without_tax"), f"items.{index}.price"),
        total=_money(item_amounts.get("total"), f"items.{index}.total"),
    )
