"""The dashboard's tests run in a real headless Chromium (Debian's, driven by Playwright's
Python client), on both engines; helpers shared by its test modules. Screenshots are taken on
every run but kept in docs/screenshots/ only when asked (``make screenshots``)."""

import os
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, sync_playwright
from sqlalchemy.orm import Session

from orderly.auth import service as auth
from orderly.auth import users
from orderly.auth.models import Role

# Where the screenshot test saves its pictures: ``make screenshots`` names docs/screenshots/;
# otherwise a temporary folder, so that running the tests never rewrites tracked files.
SCREENSHOTS_INTO = os.environ.get("ORDERLY_TEST_SCREENSHOTS")
PASSWORD = "correct-horse-battery"
# Without these Chromium keeps calling home, and this machine's closed network refuses it.
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


# Module scope: Playwright's sync API keeps an event loop running in the main thread while it is
# open, and tests elsewhere call asyncio.run().
@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path="/usr/bin/chromium", headless=True, args=CHROMIUM_FLAGS
        )
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Browser, base_url: str) -> Iterator[Page]:
    context = browser.new_context(base_url=base_url, locale="en-US")
    yield context.new_page()
    context.close()


@pytest.fixture
def owner(db: Session, api: httpx.Client) -> str:
    """An owner of ``acme`` (the organization ``api`` and ``make_order`` write to)."""
    organization = auth.require_organization(db, "acme")
    users.create_user(db, organization, "owner@example.com", Role.OWNER, PASSWORD)
    db.commit()
    return "owner@example.com"


def sign_in(page: Page, email: str, password: str = PASSWORD) -> None:
    page.goto("/sign-in")
    page.fill("input[name=store]", "acme")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")


def add_person(db: Session, email: str, role: Role) -> str:
    organization = auth.require_organization(db, "acme")
    users.create_user(db, organization, email, role, PASSWORD)
    db.commit()
    return email


def session_client(page: Page, base_url: str) -> httpx.Client:
    """An HTTP client holding the page's session cookie: to post what the page does not offer."""
    cookie = next(c for c in page.context.cookies() if c["name"] == "orderly_session")
    return httpx.Client(base_url=base_url, cookies={"orderly_session": cookie["value"]})


def csrf_of(page: Page) -> str:
    return page.locator("input[name=csrf]").first.get_attribute("value") or ""


def order_body(order: dict[str, Any]) -> dict[str, Any]:
    keep = ("source", "currency", "customer_name", "total_amount", "products")
    return {key: order[key] for key in keep}
