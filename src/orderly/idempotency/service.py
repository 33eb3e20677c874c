"""The rules of idempotent retries, as Stripe keeps them.

The first request with a key claims it; its answer is stored with the key for 24 hours and a
retry gets that answer again (status and body) without running anything. The same key with
another request (method, path or body) is refused with 422; a retry while the first is still
running gets 409. Answers that refused the request before it did anything (400, 401, 409, 413,
422, 429) and server errors (whose transaction was rolled back) are not kept: the key is freed
so that a corrected or later retry runs.
"""

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from orderly.core.errors import Conflict, ValidationFailed
from orderly.idempotency import repository
from orderly.idempotency.models import IdempotentRequest

KEPT_FOR = timedelta(hours=24)
# A claim older than this whose request never finished (its process died) is taken over.
ABANDONED_AFTER = timedelta(minutes=10)
MAX_KEY_LENGTH = 255
_NOT_KEPT = frozenset({400, 401, 409, 413, 422, 429})
REPLAYED_HEADERS = ("content-type", "etag", "location")


class KeyReused(ValidationFailed):
    message = "This Idempotency-Key was used with another request"


class StillRunning(Conflict):
    message = "A request with this Idempotency-Key is still running; retry later"


@dataclass(frozen=True)
class StoredAnswer:
    status_code: int
    headers: dict[str, str]
    body: bytes


def check_key(key: str) -> None:
    if not 1 <= len(key) <= MAX_KEY_LENGTH or not key.isascii() or not key.isprintable():
        raise ValidationFailed(
            details={"idempotency_key": f"1 to {MAX_KEY_LENGTH} printable ASCII characters"}
        )


def request_hash(method: str, path: str, query: bytes, body: bytes) -> str:
    digest = hashlib.sha256()
    for part in (method.encode(), path.encode(), query, body):
        digest.update(len(part).to_bytes(8, "big") + part)
    return digest.hexdigest()


def claim(
    session: Session,
    organization_id: str,
    key: str,
    fingerprint: str,
    method: str,
    path: str,
    now: datetime,
) -> StoredAnswer | None:
    """Claim ``key`` for this request (``None``: go ahead), or the answer to replay; raises
    ``KeyReused`` or ``StillRunning``."""
    existing = repository.get_locked(session, organization_id, key)
    if existing is not None and _expired(existing, now):
        session.delete(existing)
        session.flush()
        existing = None
    if existing is None:
        session.add(
            IdempotentRequest(
                organization_id=organization_id,
                key=key,
                request_hash=fingerprint,
                method=method,
                path=path[:2048],
                created=now,
            )
        )
        try:
            session.flush()
        except IntegrityError:  # another request claimed it between our read and insert
            raise StillRunning(details={"idempotency_key": key}) from None
        return None
    if existing.request_hash != fingerprint:
        first_use = f"First used for {existing.method} {existing.path}"
        raise KeyReused(details={"idempotency_key": first_use})
    if existing.status_code is None:
        raise StillRunning(details={"idempotency_key": key})
    return StoredAnswer(existing.status_code, dict(existing.headers or {}), existing.body or b"")


def _expired(existing: IdempotentRequest, now: datetime) -> bool:
    age = now - existing.created
    return age > KEPT_FOR or (existing.status_code is None and age > ABANDONED_AFTER)


def is_kept(status_code: int) -> bool:
    return status_code < 500 and status_code not in _NOT_KEPT


def finish(session: Session, organization_id: str, key: str, answer: StoredAnswer | None) -> None:
    """Store the first request's answer, or free the key when the answer is not kept."""
    row = repository.get_locked(session, organization_id, key)
    if row is None:
        return
    if answer is None or not is_kept(answer.status_code):
        session.delete(row)
        return
    kept = {name: value for name, value in answer.headers.items() if name in REPLAYED_HEADERS}
    row.status_code, row.headers, row.body = answer.status_code, kept, answer.body


def prune(session: Session, now: datetime) -> int:
    """Forget keys older than 24 hours; returns how many."""
    return repository.remove_older_than(session, now - KEPT_FOR)
