"""Rendering a page: Jinja2 templates (``templates/``) with the request's language installed
(gettext ``_``), its direction, and Babel's formats."""

from datetime import datetime
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any

import orjson
from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, pass_context, select_autoescape

from orderly.auth.models import Organization
from orderly.core.money import UnknownCurrency, currency_places
from orderly.web import i18n

_TEMPLATES = Path(__file__).parent / "templates"


def exact(amount: Any) -> Decimal:
    """An order document's amount (a JSON number fragment, written exactly) as a Decimal."""
    if isinstance(amount, orjson.Fragment):
        return Decimal(orjson.dumps(amount).decode())
    return Decimal(str(amount))


# The currencies the entry form offers first (the Gulf's, Egypt's, the dollar); an order in
# another keeps its own.
_CURRENCIES = ("SAR", "AED", "KWD", "BHD", "QAR", "OMR", "EGP", "USD")


def currencies(current: str | None) -> list[tuple[str, int]]:
    """(code, decimal places) for the entry form's currency list, ``current`` included."""
    codes = list(_CURRENCIES)
    if current and current not in codes:
        codes.append(current)
    offered = []
    for code in codes:
        try:
            offered.append((code, currency_places(code)))
        except UnknownCurrency:
            continue  # typed by hand into a form: the API's error says why
    return offered


# Platforms by the names they give themselves (not translated).
PLATFORM_NAMES = {
    "salla": "Salla",
    "zid": "Zid",
    "shopify": "Shopify",
    "woocommerce": "WooCommerce",
    "hungerstation": "HungerStation",
}


@lru_cache(maxsize=len(i18n.LANGUAGES))
def _environment(language: str) -> Environment:
    environment = Environment(
        loader=FileSystemLoader(_TEMPLATES),
        autoescape=select_autoescape(["html"]),
        extensions=["jinja2.ext.i18n"],
    )
    environment.install_gettext_translations(i18n.translations(language), newstyle=True)  # type: ignore[attr-defined]
    environment.globals.update(
        language=language,
        direction=i18n.direction(language),
        # A "back" link points the way the page reads from: right in Arabic.
        back_arrow="→" if i18n.direction(language) == "rtl" else "←",
        # From one status to the next, in reading order (arrows are not mirrored by Unicode).
        flow_arrow="←" if i18n.direction(language) == "rtl" else "→",
        money=lambda amount, currency: i18n.money(exact(amount), currency, language),
        number=lambda value: i18n.number(value, language),
        # In the store's time zone (``zone``, set by ``render``).
        when=pass_context(
            lambda context, text: i18n.moment(
                datetime.fromisoformat(text), language, context.get("zone", "UTC")
            )
        ),
        day=pass_context(
            lambda context, text: i18n.day(
                datetime.fromisoformat(text), language, context.get("zone", "UTC")
            )
        ),
        currencies=currencies,
        platform_names=PLATFORM_NAMES,
        channel=lambda source: PLATFORM_NAMES.get(source, source),
    )
    return environment


def store_zone(organization: Organization) -> str:
    """The time zone a store's pages show times in: its own choice, else its country's."""
    return organization.time_zone or i18n.default_zone(organization.default_country)


def render(
    request: Request, template: str, language: str, *, status_code: int = 200, **context: Any
) -> HTMLResponse:
    who = context.get("who")
    zone = store_zone(who.organization) if who is not None else "UTC"
    page = (
        _environment(language).get_template(template).render(request=request, zone=zone, **context)
    )
    return HTMLResponse(page, status_code=status_code, headers={"Cache-Control": "no-store"})
