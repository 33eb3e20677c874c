"""HungerStation and the other Delivery Hero brands: the POS plugin's "Order Dispatch" body,
sent with ``Authorization: Bearer <JWT>`` signed HS512 with the plugin's shared secret."""

from typing import Any

import jwt
from babel.numbers import get_territory_currencies

from orderly.integrations.platforms.base import (
    Headers,
    MappingFailed,
    Platform,
    PlatformOrder,
    Unverified,
    amount,
    as_list,
    as_object,
    dig,
    join_name,
    line_item,
    lookup,
    required_text,
    text,
    timestamp,
    total_of,
)
from orderly.orders.statuses import PaymentStatus

PAYMENT = {"pending": PaymentStatus.PENDING, "paid": PaymentStatus.PAID}


def _currency(local_info: dict[str, Any]) -> str:
    """Delivery Hero names the country and a currency symbol, not the ISO code."""
    explicit = text(local_info.get("currency")) or text(local_info.get("currencyCode"))
    if explicit:
        return explicit
    country = text(local_info.get("countryCode"))
    try:
        currencies = get_territory_currencies(country) if country else []
    except Exception:  # babel raises plain errors for territories it does not know
        currencies = []
    if not currencies:
        raise MappingFailed("localInfo.countryCode does not name a country with a currency")
    return str(currencies[0])


class HungerStation(Platform):
    key = "hungerstation"

    def verify(self, headers: Headers, body: bytes, secret: str) -> None:
        scheme, _, token = (headers.get("authorization") or "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unverified("Missing Authorization: Bearer <JWT>")
        try:
            # An unexpiring token would be a password sent forever: exp is required.
            jwt.decode(token.strip(), secret, algorithms=["HS512"], options={"require": ["exp"]})
        except jwt.ExpiredSignatureError:
            raise Unverified("The JWT has expired") from None
        except jwt.InvalidTokenError as exc:
            raise Unverified(f"The JWT is not valid: {exc}") from None

    def to_order(self, payload: Any, topic: str | None) -> PlatformOrder | None:
        order = as_object(payload, "The body")
        customer = order.get("customer") or {}
        price = order.get("price") or {}
        local_info = order.get("localInfo") or {}
        payment = text(dig(order, "payment", "status"))
        discounts = [
            amount(d.get("amount"), f"discounts.{i}.amount")
            for i, d in enumerate(as_list(order.get("discounts")))
            if isinstance(d, dict)
        ]
        fees = [
            amount(f.get("value"), f"price.deliveryFees.{i}.value")
            for i, f in enumerate(as_list(price.get("deliveryFees")))
            if isinstance(f, dict)
        ]
        return PlatformOrder(
            external_id=required_text(order.get("token"), "token"),
            fields={
                "external_number": text(order.get("code")),
                "customer_name": join_name(customer.get("firstName"), customer.get("lastName")),
                "customer_email": text(customer.get("email")),
                "customer_phone": text(customer.get("mobilePhone")),
                "products": [
                    _line(item, i) for i, item in enumerate(as_list(order.get("products")))
                ],
                "discount": total_of(discounts),
                "tax": amount(price.get("vatTotal"), "price.vatTotal"),
                "delivery_fee": total_of(fees),
                "total_amount": amount(price.get("grandTotal"), "price.grandTotal"),
                "currency": _currency(local_info),
                "notes": text(dig(order, "comments", "customerComment")),
                "created": timestamp(order.get("createdAt"), "createdAt"),
            },
            payment_status=lookup(PAYMENT, payment),
            phone_region=text(local_info.get("countryCode")),
            meta={
                "platform": text(local_info.get("platform")),
                "platform_key": text(local_info.get("platformKey")),
                "platform_payment_status": payment,
                "payment_type": text(dig(order, "payment", "type")),
                "short_code": text(order.get("shortCode")),
                "expedition_type": text(order.get("expeditionType")),
                "restaurant_id": text(dig(order, "platformRestaurant", "id")),
                "rider_tip": text(amount(price.get("riderTip"), "price.riderTip")),
                "test": order.get("test") is True or None,
            },
        )


def _line(item: Any, index: int) -> dict[str, Any]:
    item = as_object(item, f"products.{index}")
    return line_item(
        product_id=text(item.get("id")) or text(item.get("remoteCode")),
        name=item.get("name"),
        quantity_value=item.get("quantity"),
        price=amount(item.get("unitPrice"), f"products.{index}.unitPrice"),
        total=amount(item.get("paidPrice"), f"products.{index}.paidPrice"),
    )
