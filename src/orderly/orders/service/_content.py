"""An order's content checked and completed: amounts in the currency's precision, contacts
normalised, the search text. Pure rules, no database."""

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from orderly.auth.models import Organization
from orderly.core import money
from orderly.core.contact import InvalidContact, normalize_email, normalize_phone
from orderly.core.errors import (
    ValidationFailed,
)
from orderly.core.text import fold_for_search
from orderly.orders.schemas import (
    OrderContent,
)


@dataclass
class Content:
    """An order's content, checked and with its defaults filled in."""

    columns: dict[str, Any]
    line_items: list[dict[str, Any]]


class _Amounts:
    """Reads an order's amounts: exact as sent (API; more places than the currency has is an
    error, collected in ``errors``), or rounded half-up to the currency (``ingested``)."""

    def __init__(self, currency: str, *, ingested: bool, errors: dict[str, str]) -> None:
        self.currency, self.ingested, self.errors = currency, ingested, errors

    def __call__(self, path: str, value: Decimal | None) -> Decimal:
        if value is None:
            return Decimal(0)
        if self.ingested:
            return money.quantize(value, self.currency)
        if not money.fits_currency(value, self.currency):
            places = money.currency_places(self.currency)
            self.errors[path] = f"{self.currency} amounts have at most {places} decimal places"
        return value


def _line_items(data: OrderContent, amount: _Amounts) -> list[dict[str, Any]]:
    """Line items by position; a line's total defaults to quantity × price."""
    line_items = []
    for index, item in enumerate(data.products):
        price = amount(f"products.{index}.price", item.price)
        total = (
            amount(f"products.{index}.total", item.total)
            if item.total is not None
            else price * item.quantity
        )
        if total >= money.MAX_AMOUNT:  # quantity × price can pass what any amount may be
            amount.errors[f"products.{index}.total"] = "Line total is too large"
        line_items.append(
            {
                "position": index,
                "product_id": item.product_id,
                "name": item.name,
                "quantity": item.quantity,
                "price": price,
                "total": total,
            }
        )
    return line_items


def _contacts(
    data: OrderContent, region: str, *, ingested: bool, errors: dict[str, str]
) -> tuple[str | None, str | None]:
    """E-mail and phone normalised (E.164, a phone without country code read in ``region``).
    One that does not parse is an error, or kept as received for ``ingested`` orders."""
    email = phone = None
    if data.customer_email:
        try:
            email = normalize_email(data.customer_email)
        except InvalidContact as exc:
            email = data.customer_email if ingested else None
            if not ingested:
                errors["customer_email"] = str(exc)
    if data.customer_phone:
        try:
            phone = normalize_phone(data.customer_phone, region)
        except InvalidContact as exc:
            phone = data.customer_phone if ingested else None
            if not ingested:
                errors["customer_phone"] = str(exc)
    return email, phone


def prepare_content(
    organization: Organization,
    data: OrderContent,
    *,
    ingested: bool = False,
    phone_region: str | None = None,
) -> Content:
    """Check money and contacts and fill in defaults. ``ingested`` orders are taken as sent:
    extra places are rounded, contacts that do not parse are kept as received. A phone without
    a country code is read in ``phone_region``, else the organization's country. Every problem
    is reported at once (``ValidationFailed``)."""
    errors: dict[str, str] = {}
    amount = _Amounts(data.currency, ingested=ingested, errors=errors)
    line_items = _line_items(data, amount)
    subtotal = (
        amount("subtotal", data.subtotal)
        if data.subtotal is not None
        else sum((item["total"] for item in line_items), Decimal(0))
    )
    region = phone_region or organization.default_country
    email, phone = _contacts(data, region, ingested=ingested, errors=errors)
    columns = {
        "source": data.source,
        "external_id": data.external_id,
        "external_number": data.external_number,
        "customer_name": data.customer_name or None,
        "customer_email": email,
        "customer_phone": phone,
        "subtotal": subtotal,
        "discount": amount("discount", data.discount),
        "tax": amount("tax", data.tax),
        "delivery_fee": amount("delivery_fee", data.delivery_fee),
        "total_amount": amount("total_amount", data.total_amount),
        "currency": data.currency,
        "notes": data.notes,
        "meta": data.meta or {},
    }
    if subtotal >= money.MAX_AMOUNT:
        errors["subtotal"] = "Sum of line totals is too large"
    if errors:
        raise ValidationFailed(details=errors)
    columns["search_text"] = search_text(columns)
    return Content(columns=columns, line_items=line_items)


def search_text(columns: dict[str, Any]) -> str:
    parts = (
        columns.get(name)
        for name in (
            "customer_name",
            "customer_email",
            "customer_phone",
            "external_id",
            "external_number",
        )
    )
    return fold_for_search("\n".join(p for p in parts if p))
