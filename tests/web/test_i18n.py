"""Every string the dashboard shows has its Arabic, and every stored identifier it shows
(statuses, roles, delivery outcomes) has a name in both languages."""

from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from orderly.auth.models import Role
from orderly.integrations.models import Outcome, PushState, RunKind
from orderly.orders.statuses import (
    FulfillmentStatus,
    OrderStatus,
    PaymentStatus,
    ReturnStatus,
    ShipmentStatus,
    StatusField,
)
from orderly.webhooks.models import DeliveryState

WEB = Path(__file__).resolve().parents[2] / "src" / "orderly" / "web"


def catalog(language: str) -> Catalog:
    with (WEB / "locales" / language / "LC_MESSAGES" / "messages.po").open("rb") as file:
        return read_po(file, locale=language)


def translated(language: str) -> set[tuple[str | None, str]]:
    return {
        (m.context, str(m.id[0] if isinstance(m.id, tuple) else m.id))
        for m in catalog(language)
        if m.id and (all(m.string) if isinstance(m.string, tuple) else m.string)
    }


def template_messages() -> set[tuple[str | None, str]]:
    found = set()
    for _, _, message, _, context in extract_from_dir(
        str(WEB / "templates"),
        method_map=[("**.html", "jinja2")],
        options_map={"**.html": {"extensions": "jinja2.ext.i18n", "newstyle_gettext": "true"}},
    ):
        found.add((context, message if isinstance(message, str) else message[0]))
    return found


IDENTIFIERS = {
    (None, value)
    for enum in (
        OrderStatus,
        PaymentStatus,
        FulfillmentStatus,
        ShipmentStatus,
        ReturnStatus,
        StatusField,
        Role,
    )
    for value in enum
} | {("delivery", value.value) for value in Outcome}
IDENTIFIERS |= {("webhook", value.value) for value in DeliveryState}
IDENTIFIERS |= {("run", value.value) for value in RunKind}
IDENTIFIERS |= {("push", value.value) for value in PushState}
IDENTIFIERS |= {("push", action) for action in ("status", "shipment", "refund")}


def test_the_templates_strings_are_found() -> None:
    assert len(template_messages()) > 100  # the extraction itself works


@pytest.mark.parametrize("language", ["ar"])
def test_every_template_string_is_translated(language: str) -> None:
    assert sorted(template_messages() - translated(language), key=str) == []


@pytest.mark.parametrize("language", ["en", "ar"])
def test_every_identifier_shown_has_a_name(language: str) -> None:
    missing = {(c, str(v)) for c, v in IDENTIFIERS} - translated(language)
    assert sorted(missing, key=str) == []
