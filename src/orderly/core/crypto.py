"""Secrets at rest: webhook secrets are stored encrypted with Fernet (``cryptography``:
AES-128-CBC and HMAC-SHA256), under keys that never reach the database, a log or an answer.

Keys come from ``ORDERLY_SECRET_KEY`` (comma-separated, newest first: the first encrypts, all
decrypt, so a key can be rotated in without downtime), else from a key file made on first use
beside the SQLite database (``orderly.key`` in the working folder for PostgreSQL), readable by
its owner only. ``orderly secrets rotate`` re-encrypts every secret under the newest key.
"""

import os
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from orderly.core.config import get_settings

SEALED = "fernet:"  # stored values that are ciphertext start with this


class SecretKeyError(RuntimeError):
    """The keys are missing, malformed, or do not open a stored secret."""


def _fernet(keys: list[bytes]) -> MultiFernet:
    try:
        return MultiFernet([Fernet(key) for key in keys])
    except (ValueError, TypeError):
        raise SecretKeyError(
            "A secret key is not a Fernet key (32 url-safe base64-encoded bytes);"
            " make one with 'orderly secrets new-key'"
        ) from None


class SecretBox:
    def __init__(self, load_keys: Callable[[], list[bytes]]) -> None:
        # Keys are read again when none opens a secret: 'orderly secrets rotate' may have
        # sealed it under a key made after this process started.
        self._load_keys = load_keys
        self._fernet = _fernet(load_keys())
        self._opened: dict[str, str] = {}

    def seal(self, secret: str) -> str:
        return SEALED + self._fernet.encrypt(secret.encode()).decode()

    def open(self, stored: str) -> str:
        """The secret in clear. Cached: webhooks open their connection's secret every time."""
        opened = self._opened.get(stored)
        if opened is None:
            if not stored.startswith(SEALED):
                raise SecretKeyError("A stored secret is not encrypted; run 'orderly migrate'")
            token = stored.removeprefix(SEALED).encode()
            try:
                opened = self._fernet.decrypt(token).decode()
            except InvalidToken:
                self._fernet = _fernet(self._load_keys())
                try:
                    opened = self._fernet.decrypt(token).decode()
                except InvalidToken:
                    raise SecretKeyError(
                        "No secret key opens a stored secret: ORDERLY_SECRET_KEY (or the key"
                        " file) lacks the key it was sealed with"
                    ) from None
            if len(self._opened) > 10_000:
                self._opened.clear()
            self._opened[stored] = opened
        return opened

    def reseal(self, stored: str) -> str:
        """``stored`` sealed under the newest key (any key may have sealed it)."""
        if not stored.startswith(SEALED):
            return self.seal(stored)
        try:
            return SEALED + self._fernet.rotate(stored.removeprefix(SEALED).encode()).decode()
        except InvalidToken:
            raise SecretKeyError("No secret key opens a stored secret") from None


def key_file(database_url: str) -> Path:
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        return Path(f"{url.database}.key").resolve()
    return Path("orderly.key").resolve()


def keys_from_setting() -> bool:
    return bool(get_settings().secret_key)


def read_keys(database_url: str) -> list[bytes]:
    """The keys, newest first, from the setting or the key file (made when missing)."""
    configured = get_settings().secret_key
    if configured:
        return [key.strip().encode() for key in configured.split(",") if key.strip()]
    path = key_file(database_url)
    if not path.exists():
        write_key_file(path, [Fernet.generate_key()], replace=False)
    return [line.encode() for line in path.read_text().split() if line]


def write_key_file(path: Path, keys: list[bytes], *, replace: bool = True) -> None:
    """Write the key file in one step, readable by its owner only (0600). Unless ``replace``,
    an existing file wins: of processes making the first key at once, one key is kept."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f"{path.name}.{os.getpid()}.new")
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as file:
        file.write("\n".join(key.decode() for key in keys) + "\n")
        file.flush()
        os.fsync(file.fileno())
    if replace:
        os.replace(partial, path)
        return
    try:
        os.link(partial, path)  # fails if the file exists: never overwrite a key in use
    except FileExistsError:
        pass
    finally:
        os.unlink(partial)


@lru_cache(maxsize=16)
def secret_box(database_url: str) -> SecretBox:
    """The box for the database at ``database_url`` (its key file sits beside it)."""
    return SecretBox(lambda: read_keys(database_url))


def new_key() -> str:
    return Fernet.generate_key().decode()


def session_box(session: Session) -> SecretBox:
    """The secret box of the database ``session`` is bound to."""
    return secret_box(session.get_bind().engine.url.render_as_string(hide_password=False))
