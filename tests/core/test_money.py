"""Money arithmetic: exact storage, currency precision, rounding (property-based)."""

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from orderly.core import money

CURRENCIES = ["SAR", "KWD", "JPY", "USD", "BHD", "CLF"]

amounts = st.decimals(
    min_value=0,
    max_value=Decimal("99999999999999.9999"),
    places=4,
    allow_nan=False,
    allow_infinity=False,
)


class TestStorage:
    @given(amounts)
    def test_round_trips_exactly(self, amount: Decimal) -> None:
        assert money.from_storage(money.to_storage(amount)) == amount

    @given(amounts, amounts)
    def test_storage_order_is_numeric_order(self, a: Decimal, b: Decimal) -> None:
        assert (money.to_storage(a) < money.to_storage(b)) == (a < b)

    @given(amounts, amounts)
    def test_sums_in_storage_units_are_exact(self, a: Decimal, b: Decimal) -> None:
        assert money.from_storage(money.to_storage(a) + money.to_storage(b)) == a + b

    def test_refuses_more_than_four_places(self) -> None:
        with pytest.raises(ValueError, match="decimal places"):
            money.to_storage(Decimal("0.00001"))

    def test_max_amount_fits_a_signed_64_bit_integer(self) -> None:
        assert money.to_storage(money.MAX_AMOUNT - Decimal("0.0001")) < 2**63


class TestCurrencies:
    @pytest.mark.parametrize(("code", "places"), [("SAR", 2), ("KWD", 3), ("JPY", 0), ("CLF", 4)])
    def test_places_come_from_iso_4217(self, code: str, places: int) -> None:
        assert money.currency_places(code) == places

    @pytest.mark.parametrize("code", ["XYZ", "sar", "", "XAU"])
    def test_unknown_or_unpriceable_codes(self, code: str) -> None:
        with pytest.raises(money.UnknownCurrency):
            money.currency_places(code)

    @given(st.sampled_from(CURRENCIES), amounts)
    def test_fits_currency_matches_places(self, code: str, amount: Decimal) -> None:
        places = money.currency_places(code)
        assert money.fits_currency(amount, code) == (amount == round(amount, places))

    @given(st.sampled_from(CURRENCIES), amounts)
    def test_quantize_rounds_half_up_to_the_currency(self, code: str, amount: Decimal) -> None:
        places = money.currency_places(code)
        result = money.quantize(amount, code)
        assert money.decimal_places(result) <= places
        assert abs(result - amount) <= Decimal(5) * Decimal(10) ** -(places + 1)
        if money.fits_currency(amount, code):
            assert result == amount

    def test_quantize_half_up(self) -> None:
        assert money.quantize(Decimal("223.56500000"), "SAR") == Decimal("223.57")
        assert money.quantize(Decimal("0.5"), "JPY") == Decimal("1")
