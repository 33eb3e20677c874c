"""The dashboard's cases for ``make bench``: pages rendered by the server for a person signed
in to the large organization, and a status change's round trip (the form's POST and the order
page it leads to), as a browser makes them."""

import itertools
from collections.abc import Callable, Sequence

import httpx
from sqlalchemy import select

from orderly.auth import service as auth
from orderly.auth import users
from orderly.auth.models import Role, UserRow
from orderly.core.db import session_factory

EMAIL = "bench@example.com"
PASSWORD = "bench-password-1"  # noqa: S105 (a bench account on a throwaway database)

# (case, target p50 in ms): the targets for the orders page and a status change.
TARGETS = {
    "dashboard: orders page": 50,
    "dashboard: orders page, tab + sort": 50,
    "dashboard: one order": 50,
    "dashboard: status change round trip": 100,
}


def signed_in_client(base: str, url: str) -> tuple[httpx.Client, str]:
    """A client with a session of an owner of ``big`` (made on first use) and its form token."""
    with session_factory(url)() as session:
        big = auth.require_organization(session, "big")
        known = select(UserRow.id).where(UserRow.organization_id == big.id, UserRow.email == EMAIL)
        if session.scalar(known) is None:
            users.create_user(session, big, EMAIL, Role.OWNER, PASSWORD)
        cookie, who = users.sign_in(session, "big", EMAIL, PASSWORD)
        session.commit()
    client = httpx.Client(
        base_url=base, cookies={"orderly_session": cookie}, follow_redirects=True, timeout=120
    )
    return client, who.csrf_token


def cases(
    client: httpx.Client, csrf: str, ids: Sequence[str]
) -> dict[str, Callable[[], httpx.Response]]:
    # Each change moves another order's fulfillment (fulfilled on the first pass, back on the
    # next), from the end of the list the API's patch case starts at.
    changes = itertools.count()

    def change_status() -> httpx.Response:
        n = next(changes)
        order_id = ids[-1 - n % len(ids)]
        value = ("fulfilled", "unfulfilled")[n // len(ids) % 2]
        form = {"csrf": csrf, "field": "fulfillment_status", "to": value}
        return client.post(f"/orders/{order_id}/status", data=form)

    one = ids[len(ids) // 2]
    return {
        "dashboard: orders page": lambda: client.get("/"),
        "dashboard: orders page, tab + sort": lambda: client.get(
            "/", params={"status": "delivered", "sort": "-total_amount"}
        ),
        "dashboard: one order": lambda: client.get(f"/orders/{one}"),
        "dashboard: status change round trip": change_status,
    }
