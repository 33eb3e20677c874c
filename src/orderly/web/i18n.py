"""English and Arabic: gettext catalogs (``locales/<language>/LC_MESSAGES/messages.po``, read
with Babel at start-up, no compile step), and numbers, money and dates formatted by Babel."""

import re
from datetime import datetime
from decimal import Decimal
from functools import lru_cache
from io import BytesIO
from pathlib import Path
from zoneinfo import ZoneInfo, available_timezones

from babel import Locale
from babel.core import get_global
from babel.dates import format_date, format_datetime, get_timezone_gmt
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_currency, format_decimal
from babel.support import NullTranslations, Translations

from orderly.auth.users import LANGUAGES as LANGUAGES

_LOCALES = Path(__file__).parent / "locales"


@lru_cache(maxsize=len(LANGUAGES))
def translations(language: str) -> NullTranslations:
    po = _LOCALES / language / "LC_MESSAGES" / "messages.po"
    if not po.exists():
        return NullTranslations()
    with po.open("rb") as file:
        catalog = read_po(file, locale=language)
    compiled = BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return Translations(compiled)


def choose_language(cookie: str | None, preferred: str | None, accept: str | None) -> str:
    """The language switcher's cookie, else the person's setting, else the browser's."""
    for choice in (cookie, preferred):
        if choice in LANGUAGES:
            return choice
    wanted = [part.split(";")[0].strip().replace("-", "_") for part in (accept or "").split(",")]
    negotiated = Locale.negotiate([w for w in wanted if w], list(LANGUAGES), sep="_")
    return str(negotiated) if negotiated else "en"


@lru_cache(maxsize=len(LANGUAGES))
def _locale(language: str) -> Locale:
    # Parsed once: Babel parses a locale given by name on every call (a third of a page's
    # formatting time).
    return Locale.parse(language)


def direction(language: str) -> str:
    return "rtl" if _locale(language).character_order == "right-to-left" else "ltr"


# A currency written as its code runs into the number in English ("SAR45.65"): a no-break
# space keeps them apart and together.
_CODE_THEN_DIGIT = re.compile(r"^(-?)([A-Z]{3})(?=\d)")


def money(amount: Decimal, currency: str, language: str) -> str:
    written = format_currency(amount, currency, locale=_locale(language))
    return _CODE_THEN_DIGIT.sub("\\1\\2\u00a0", written)


def number(value: int, language: str) -> str:
    return format_decimal(value, locale=_locale(language))


def moment(value: datetime, language: str, zone: str = "UTC") -> str:
    """A time as the store reads it: in its zone, the zone's offset written out."""
    tz = _zone(zone)
    written = format_datetime(value, "medium", tzinfo=tz, locale=_locale(language))
    if zone == "UTC":
        return written + " UTC"
    return f"{written} {get_timezone_gmt(value.astimezone(tz), 'long', locale=_locale(language))}"


@lru_cache(maxsize=64)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def zones() -> list[str]:
    """Every IANA time zone a store may choose."""
    return sorted(available_timezones())


def default_zone(country: str) -> str:
    """The main time zone of a country (CLDR's territory zones), else UTC."""
    found = get_global("territory_zones").get(country.upper())
    return str(found[0]) if found else "UTC"


def day(value: datetime, language: str, zone: str = "UTC") -> str:
    return format_date(value.astimezone(_zone(zone)), "medium", locale=_locale(language))
