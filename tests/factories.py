"""Plain keyword factories for request bodies."""

import itertools
import json
from decimal import Decimal
from typing import Any

import httpx

from orderly.core.http import dump_json

_counter = itertools.count(1)


def product(**fields: Any) -> dict[str, Any]:
    return {
        "product_id": "prd_001",
        "name": "Panadol Extra",
        "quantity": 2,
        "price": Decimal("15.50"),
        **fields,
    }


def order_fields(**fields: Any) -> dict[str, Any]:
    """A valid create body; keyword arguments replace or add fields (``None`` values stay)."""
    body: dict[str, Any] = {
        "source": "manual",
        "customer_name": "Ahmed Hassan",
        "customer_email": "ahmed@example.com",
        "customer_phone": "+966501234567",
        "products": [product()],
        "tax": Decimal("4.65"),
        "delivery_fee": Decimal("10.00"),
        "total_amount": Decimal("45.65"),
        "currency": "SAR",
    }
    body.update(fields)
    return body


def order_payload(**fields: Any) -> bytes:
    """``order_fields`` as exact JSON bytes (money as JSON numbers, never via float)."""
    return dump_json(order_fields(**fields))


def unique_external_id() -> str:
    return f"EXT-{next(_counter)}"


def exact(response: httpx.Response) -> Any:
    """The response body with every fraction read as ``Decimal``."""
    return json.loads(response.text, parse_float=Decimal)
