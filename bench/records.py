"""Shipments and refunds in the bench: creating them (sequential and at 16 connections, beside
PATCH status in the same run), and reading an order that has 5 shipments, 3 refunds and 20
notes beside a bare order with the same lines."""

import json
from collections.abc import Callable
from dataclasses import dataclass

import httpx

from bench.throughput import Case
from orderly.auth import service as auth
from orderly.core.db import session_factory
from tests.factories import order_payload, product

ORDERS = "/api/v1/orders"
SHIPMENT = json.dumps(
    {"lines": [{"line": 1, "quantity": 1}], "carrier": "aramex", "tracking_number": "AX1"}
)
REFUND = json.dumps({"amount": 0.01, "reason": "bench"})


@dataclass(frozen=True)
class Prepared:
    shippable: list[str]  # orders with a line of a million units: shipments never run out
    refundable: list[str]  # paid orders of a billion: refunds never run out
    rich: str  # 5 lines, 5 shipments, 3 refunds, 20 notes
    bare: str  # the same 5 lines, nothing else


def token(url: str) -> str:
    """A token of an organization of its own: its orders' shipments and refunds stay out of
    the orders the other cases read and patch."""
    with session_factory(url)() as session:
        organization = auth.get_or_create_organization(session, "records")
        secret = auth.mint_token(session, organization, "bench").secret
        session.commit()
    return secret


def prepare(client: httpx.Client, count: int = 200) -> Prepared:
    big = {
        "products": [product(quantity=1_000_000, price=1)],
        "total_amount": 1_000_000_000,
        "payment_status": "paid",
        "external_id": None,
    }
    made = client.post(
        f"{ORDERS}/bulk",
        content=b"[" + b",".join(order_payload(**big) for _ in range(2 * count)) + b"]",
    )
    made.raise_for_status()
    ids = list(made.json()["data"]["ids"].values())
    five = {
        "products": [product(product_id=f"P{i}", quantity=2, price=10) for i in range(5)],
        "total_amount": 100,
        "payment_status": "paid",
        "external_id": None,
    }
    rich, bare = (client.post(ORDERS, content=order_payload(**five)).json()["id"] for _ in range(2))
    for line in range(1, 6):
        client.post(
            f"{ORDERS}/{rich}/shipments",
            json={
                "lines": [{"line": line, "quantity": 2}],
                "carrier": "smsa",
                "tracking_number": f"S{line}",
            },
        ).raise_for_status()
    for _ in range(3):
        client.post(
            f"{ORDERS}/{rich}/refunds", json={"amount": 5, "reason": "bench"}
        ).raise_for_status()
    for n in range(20):
        client.post(
            f"{ORDERS}/{rich}/notes",
            json={"text": f"Note {n}: the customer called about the delivery time."},
        ).raise_for_status()
    return Prepared(shippable=ids[:count], refundable=ids[count:], rich=rich, bare=bare)


def sequential_cases(
    client: httpx.Client, prepared: Prepared
) -> dict[str, Callable[[], httpx.Response]]:
    turn = iter(range(10**9))

    def ship() -> httpx.Response:
        order = prepared.shippable[next(turn) % len(prepared.shippable)]
        return client.post(f"{ORDERS}/{order}/shipments", content=SHIPMENT)

    def refund() -> httpx.Response:
        order = prepared.refundable[next(turn) % len(prepared.refundable)]
        return client.post(f"{ORDERS}/{order}/refunds", content=REFUND)

    return {
        "create shipment": ship,
        "create refund": refund,
        "get one (5 shipments, 3 refunds, 20 notes)": lambda: client.get(
            f"{ORDERS}/{prepared.rich}"
        ),
        "get one (bare, same 5 lines)": lambda: client.get(f"{ORDERS}/{prepared.bare}"),
    }


def throughput_cases(prepared: Prepared) -> list[Case]:
    return [
        Case(
            "create shipment",
            "POST",
            [f"{ORDERS}/{i}/shipments" for i in prepared.shippable],
            [SHIPMENT],
        ),
        Case(
            "create refund",
            "POST",
            [f"{ORDERS}/{i}/refunds" for i in prepared.refundable],
            [REFUND],
        ),
        Case("get one (records)", "GET", [f"{ORDERS}/{prepared.rich}"]),
        Case("get one (bare, same lines)", "GET", [f"{ORDERS}/{prepared.bare}"]),
    ]
