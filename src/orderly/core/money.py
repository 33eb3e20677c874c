"""Money: exact decimals, checked against the currency's ISO 4217 minor unit."""

from decimal import Decimal
from functools import lru_cache

import iso4217

# Stored amounts are integers in units of 10^-4: no ISO 4217 currency has more places, so every
# valid amount is exact, and integers sort and sum the same way on SQLite and PostgreSQL.
STORAGE_PLACES = 4
MAX_AMOUNT = Decimal(10) ** 14  # keeps 10^-4 units inside a signed 64-bit integer


class UnknownCurrency(ValueError):
    pass


@lru_cache(maxsize=512)
def currency_places(code: str) -> int:
    """Number of decimal places the currency allows (SAR 2, KWD 3, JPY 0)."""
    try:
        exponent = iso4217.Currency(code).exponent
    except (ValueError, KeyError):
        raise UnknownCurrency(f"{code!r} is not an ISO 4217 currency code") from None
    if exponent is None:  # funds, metals and testing codes have no minor unit
        raise UnknownCurrency(f"{code} is not a currency orders can be priced in")
    return int(exponent)


def priceable_currencies() -> list[str]:
    """Every ISO 4217 code an order can be priced in."""
    codes = []
    for currency in iso4217.Currency:
        try:
            currency_places(currency.code)
        except UnknownCurrency:
            continue
        codes.append(currency.code)
    return codes


def normalize_currency(code: str) -> str:
    code = code.strip().upper()
    currency_places(code)
    return code


def decimal_places(amount: Decimal) -> int:
    """Places after the point, trailing zeros aside; exact for any exponent (``normalize``
    would round 1e-999999999 to 0 under the default context)."""
    _, digits, exponent = amount.as_tuple()
    assert isinstance(exponent, int)
    trailing_zeros = len(digits) - len("".join(map(str, digits)).rstrip("0"))
    return 0 if not any(digits) else max(0, -(exponent + trailing_zeros))


def fits_currency(amount: Decimal, currency: str) -> bool:
    return decimal_places(amount) <= currency_places(currency)


def quantize(amount: Decimal, currency: str) -> Decimal:
    """The amount written with exactly the currency's places (rounding half-up if it has more)."""
    return amount.quantize(Decimal(1).scaleb(-currency_places(currency)), rounding="ROUND_HALF_UP")


def to_storage(amount: Decimal) -> int:
    scaled = amount.scaleb(STORAGE_PLACES)
    if scaled != scaled.to_integral_value():
        raise ValueError(f"{amount} has more than {STORAGE_PLACES} decimal places")
    return int(scaled)


def from_storage(units: int) -> Decimal:
    return Decimal(units).scaleb(-STORAGE_PLACES)
