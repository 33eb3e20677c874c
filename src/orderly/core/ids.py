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
