"""The rules of idempotent retries, as Stripe keeps them.

The first request with a key claims it; its answer is stored with the key for 24 hours and a
retry gets that answer again (status and body) without running anything. The same key with
another request (method, path or body) is refused with 422; a retry while the first is still
running waits for it and gets its answer. The claim, the request's writes and its answer are
one transaction, so a crash leaves all of them or none. Answers that refused the request
before it did anything (400, 401, 405, 409, 413, 422, 429) and server errors are not kept: the key
is free so that a corrected or later retry runs; other refusals (404, 412) are kept, alone.
"""

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from orderly.core.db import utc_now
from orderly.core.errors import Conflict, ValidationFailed
from orderly.idempotency import repository
from orderly.idempotency.models import IdempotentRequest

KEPT_FOR = timedelta(hours=24)
# A claim older than this whose request never finished (its process died) is taken over.
ABANDONED_AFTER = timedelta(minutes=10)
MAX_KEY_LENGTH = 255
_NOT_KEPT = frozenset({400, 401, 405, 409, 413, 422, 429})
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


@dataclass(frozen=True)
class Claim:
    """A request that carries an Idempotency-Key: whose key, and what request it names."""

    organization_id: str
    key: str
    fingerprint: str
    method: str
    path: str

    def row(self, now: datetime) -> IdempotentRequest:
        return IdempotentRequest(
            organization_id=self.organization_id,
            key=self.key,
            request_hash=self.fingerprint,
            method=self.method,
            path=self.path[:2048],
            created=now,
        )


def claim(session: Session, wanted: Claim) -> StoredAnswer | None:
    """Claim the key for this request (``None``: go ahead), or the answer to replay; raises
    ``KeyReused`` or ``StillRunning``. The claim is part of the caller's transaction: while it
    runs, a retry on PostgreSQL waits at the key's row for it to end (on SQLite, for the write
    lock), then replays its answer, or runs itself if the first wrote nothing."""
    now = utc_now()
    existing = repository.get_locked(session, wanted.organization_id, wanted.key)
    if existing is not None and _expired(existing, now):
        session.delete(existing)
        session.flush()
        existing = None
    if existing is None:
        try:
            with session.begin_nested():
                session.add(wanted.row(now))
        except IntegrityError:  # claimed by a request that committed while we waited
            existing = repository.get_locked(session, wanted.organization_id, wanted.key)
            if existing is None:
                raise StillRunning(details={"idempotency_key": wanted.key}) from None
        else:
            return None
    if existing.request_hash != wanted.fingerprint:
        first_use = f"First used for {existing.method} {existing.path}"
        raise KeyReused(details={"idempotency_key": first_use})
    if existing.status_code is None:  # a claim left by a version that kept it apart
        raise StillRunning(details={"idempotency_key": wanted.key})
    return StoredAnswer(existing.status_code, dict(existing.headers or {}), existing.body or b"")


def _expired(existing: IdempotentRequest, now: datetime) -> bool:
    age = now - existing.created
    return age > KEPT_FOR or (existing.status_code is None and age > ABANDONED_AFTER)


def is_success(status_code: int) -> bool:
    return status_code < 400


def is_kept(status_code: int) -> bool:
    return status_code < 500 and status_code not in _NOT_KEPT


def _store(row: IdempotentRequest, answer: StoredAnswer) -> None:
    kept = {name: value for name, value in answer.headers.items() if name in REPLAYED_HEADERS}
    row.status_code, row.headers, row.body = answer.status_code, kept, answer.body


def finish(session: Session, wanted: Claim, answer: StoredAnswer) -> None:
    """Store the answer of a request that succeeded, in the transaction that claimed the key."""
    row = repository.get_locked(session, wanted.organization_id, wanted.key)
    assert row is not None, "claimed in this transaction"
    _store(row, answer)


def keep_refusal(session: Session, wanted: Claim, answer: StoredAnswer) -> None:
    """Keep the answer of a request that wrote nothing (its transaction was undone), when a
    retry should get it again (a 404, say); a retry that claimed the key meanwhile wins."""
    if repository.get_locked(session, wanted.organization_id, wanted.key) is not None:
        return
    row = wanted.row(utc_now())
    _store(row, answer)
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:
        return


def prune(session: Session, now: datetime) -> int:
    """Forget keys older than 24 hours; returns how many."""
    return repository.remove_older_than(session, now - KEPT_FOR)
