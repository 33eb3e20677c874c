"""Unguessable identifiers in the shape the contract shows (``r`` + 16 characters)."""

import secrets
import string

_ALPHABET = string.ascii_lowercase + string.digits


def random_token(length: int) -> str:
    """``length`` characters of [a-z0-9], each uniformly random (one system call, not one each)."""
    chars: list[str] = []
    while len(chars) < length:
        # 252 = 7 × 36: dropping bytes above it keeps every character equally likely.
        chars += [_ALPHABET[b % 36] for b in secrets.token_bytes(length * 2) if b < 252]
    return "".join(chars[:length])


def new_order_id() -> str:
    return "r" + random_token(16)


_ORDER_ID_ALPHABET = frozenset(_ALPHABET)


def is_order_id(value: str) -> bool:
    """Whether ``value`` could be an order id; anything else cannot name a stored order."""
    return len(value) == 17 and value[0] == "r" and _ORDER_ID_ALPHABET.issuperset(value[1:])
