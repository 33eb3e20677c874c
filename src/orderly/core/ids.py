"""Unguessable identifiers: ``r`` + 16 characters for orders (docs/api.md, Ids)."""

import re
import secrets
import string
from datetime import datetime

_ALPHABET = string.ascii_lowercase + string.digits


def random_token(length: int) -> str:
    """``length`` characters of [a-z0-9], each uniformly random (one system call, not one each)."""
    chars: list[str] = []
    while len(chars) < length:
        # 252 = 7 × 36: dropping bytes above it keeps every character equally likely.
        chars += [_ALPHABET[b % 36] for b in secrets.token_bytes(length * 2) if b < 252]
    return "".join(chars[:length])


# Organization ids are ``org_`` and a key of 12 characters. Values read without a token (a
# bearer token, a webhook's connection id) carry that key, so their lookup still leads with
# ``organization_id``.
_ORGANIZATION_KEY_LENGTH = 12


def new_organization_id() -> str:
    return "org_" + random_token(_ORGANIZATION_KEY_LENGTH)


def new_keyed_id(prefix: str, organization_id: str, length: int) -> str:
    """``<prefix>_<organization key>_<length random characters>``."""
    return f"{prefix}_{organization_id.removeprefix('org_')}_{random_token(length)}"


def organization_of(keyed_id: str, prefix: str, length: int) -> str | None:
    """The organization id a ``new_keyed_id`` value names, or ``None`` if it is not one."""
    match = re.fullmatch(
        rf"{re.escape(prefix)}_([a-z0-9]{{{_ORGANIZATION_KEY_LENGTH}}})_[a-z0-9]{{{length}}}",
        keyed_id,
    )
    return None if match is None else f"org_{match.group(1)}"


def new_order_id() -> str:
    return "r" + random_token(16)


_ORDER_ID_ALPHABET = frozenset(_ALPHABET)


def is_order_id(value: str) -> bool:
    """Whether ``value`` could be an order id; anything else cannot name a stored order."""
    return len(value) == 17 and value[0] == "r" and _ORDER_ID_ALPHABET.issuperset(value[1:])


_BASE36 = string.digits + string.ascii_lowercase  # digits first: ids sort as their times


def time_ordered_id(prefix: str, at: datetime, random_length: int = 8) -> str:
    """``<prefix>_`` + the time in microseconds (11 base-36 digits, so they sort as text) +
    random characters: ids that list rows in the order they were made, and land each insert
    on an index's last page."""
    micros = int(at.timestamp() * 1_000_000)
    digits = ""
    while micros:
        micros, digit = divmod(micros, 36)
        digits = _BASE36[digit] + digits
    return f"{prefix}_{digits.rjust(11, '0')}{random_token(random_length)}"
