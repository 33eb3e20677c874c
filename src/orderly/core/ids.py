"""Unguessable identifiers in the shape the contract shows (``r`` + 16 characters)."""

import secrets
import string

_ALPHABET = string.ascii_lowercase + string.digits


def random_token(length: int) -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(length))


def new_order_id() -> str:
    return "r" + random_token(16)


def new_id(prefix: str, length: int = 16) -> str:
    return f"{prefix}_{random_token(length)}"


_ORDER_ID_ALPHABET = frozenset(_ALPHABET)


def is_order_id(value: str) -> bool:
    """Whether ``value`` could be an order id; anything else cannot name a stored order."""
    return len(value) == 17 and value[0] == "r" and _ORDER_ID_ALPHABET.issuperset(value[1:])
