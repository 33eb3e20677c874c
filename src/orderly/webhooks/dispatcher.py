"""The dispatcher: sends every event to every endpoint that wants it, at least once, in order
per order, retried with backoff for the retry window. ``orderly serve`` runs one in each
worker process (``ORDERLY_WEBHOOK_DISPATCHER``); any number share the work safely.

Each round, in short transactions of its own (never holding the database across a send):

1. **Queue**: each enabled endpoint's new events become deliveries, and the endpoint's
   position moves past them (``repository.endpoints_behind``, skipping endpoints another
   dispatcher holds).
2. **Claim**: due deliveries, each the earliest pending one of its order at its endpoint, are
   leased to this dispatcher (``repository.claim_due``). A dispatcher that dies mid-send
   leaves its lease to expire, and the delivery is sent again: at least once, and a receiver
   drops a repeat by its ``webhook-id``.
3. **Send** them concurrently (``sender.send``), then **record** each attempt: delivered on a
   2xx; on anything else a retry after an exponential, jittered delay, until the retry window
   has passed (then failed). A 410 disables the endpoint at once; an endpoint failing for the
   whole window is disabled, with the reason. An endpoint that answers again has its waiting
   deliveries made due at once.

It waits for work between rounds, polling every ``POLL_SECONDS`` (for other processes'
commits), and woken sooner by this process's commits that wrote events while some endpoint
is enabled (with none, a commit costs the dispatcher nothing).
"""

import asyncio
import contextlib
import logging
import random
from collections.abc import Sequence
from datetime import datetime, timedelta
from functools import partial
from typing import Any

import aiohttp
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from orderly.core.config import get_settings
from orderly.core.crypto import SecretBox, secret_box
from orderly.core.db import Database, utc_now
from orderly.core.telemetry import OUTBOUND_DELIVERIES, OUTBOUND_OLDEST, OUTBOUND_QUEUE
from orderly.events import service as events
from orderly.webhooks import repository, sender, service
from orderly.webhooks.models import DeliveryState

log = logging.getLogger("orderly.webhooks")

POLL_SECONDS = 0.1
BATCH = 200  # deliveries claimed per round
CONCURRENCY = 100  # attempts under way at once
_EVENTS_PER_ENDPOINT = 1000  # queued per endpoint per round
_MAX_DELAY = timedelta(hours=6)
_ERROR_PAUSE = (1.0, 30.0)  # after a failed round (database down): from, doubling up to


def retry_delay(attempt: int) -> timedelta:
    """After the ``attempt``-th failure: base × 2^(attempt-1), at most 6 hours, the second
    half jittered (so that endpoints failing together do not retry together)."""
    base = get_settings().webhook_retry_base_seconds
    ceiling = min(base * 2 ** min(attempt - 1, 30), _MAX_DELAY.total_seconds())
    return timedelta(seconds=ceiling / 2 + random.uniform(0, ceiling / 2))


def queue_new_events(session: Session, now: datetime) -> int:
    """Step 1: deliveries for events the endpoints have not had queued; returns how many
    events were looked at."""
    looked = 0
    for endpoint in repository.endpoints_behind(session, limit=50):
        found = repository.events_after(
            session, endpoint.organization_id, endpoint.after_sequence, _EVENTS_PER_ENDPOINT
        )
        wanted = [event for event in found if service.wants(endpoint, event[2])]
        repository.queue(
            session,
            [
                service.new_delivery(endpoint, sequence, event_id, kind, order_id, now, index)
                for index, (sequence, event_id, kind, order_id) in enumerate(wanted)
            ],
        )
        if found:
            endpoint.after_sequence = found[-1][0]
        looked += len(found)
    session.flush()
    return looked


def record(
    session: Session,
    claimed: Sequence[repository.Claimed],
    answers: Sequence[sender.Answer],
    now: datetime,
) -> None:
    """Step 3's bookkeeping: each attempt, each delivery's new state, and what the answers
    say of their endpoints."""
    window = timedelta(hours=get_settings().webhook_retry_hours)
    endpoints = repository.lock_endpoints(
        session, sorted({(c.organization_id, c.endpoint_id) for c in claimed})
    )
    updates, attempts, revived = [], [], set()
    for delivery, answer in zip(claimed, answers, strict=True):
        endpoint = endpoints.get((delivery.organization_id, delivery.endpoint_id))
        if endpoint is None:  # deleted meanwhile, its deliveries with it
            continue
        number = delivery.attempts + 1
        attempts.append(
            {
                "organization_id": delivery.organization_id,
                "delivery_id": delivery.id,
                "number": number,
                "at": now,
                "status_code": answer.status_code,
                "duration_ms": answer.duration_ms,
                "response": answer.response,
                "error": answer.error,
            }
        )
        state, next_at, finished = DeliveryState.PENDING.value, now, None
        if answer.delivered:
            state, finished, outcome = DeliveryState.DELIVERED.value, now, "delivered"
            if endpoint.failing_since is not None:
                endpoint.failing_since = None
                revived.add((endpoint.organization_id, endpoint.id))
        elif answer.status_code == 410:
            state, finished, outcome = DeliveryState.FAILED.value, now, "gave_up"
            endpoint.enabled = False
            endpoint.disabled_reason = f"Answered 410 Gone at {now:%Y-%m-%d %H:%M} UTC"
        else:
            outcome = "refused" if answer.refused else "failed"
            if now - delivery.created >= window:
                state, finished, outcome = DeliveryState.FAILED.value, now, "gave_up"
            else:
                next_at = now + retry_delay(number)
            endpoint.failing_since = endpoint.failing_since or now
            if now - endpoint.failing_since >= window and endpoint.enabled:
                endpoint.enabled = False
                endpoint.disabled_reason = (
                    f"Failing since {endpoint.failing_since:%Y-%m-%d %H:%M} UTC: {answer.error}"
                )[:255]
        OUTBOUND_DELIVERIES.labels(outcome).inc()
        updates.append(
            {
                "of_org": delivery.organization_id,
                "of_id": delivery.id,
                "new_state": state,
                "new_attempts": number,
                "new_next_attempt_at": next_at,
                "new_leased_until": None,
                "new_finished": finished,
                "new_last_status": answer.status_code,
                "new_last_error": answer.error,
            }
        )
    repository.add_attempts(session, attempts)
    repository.finish(session, updates)
    for organization_id, endpoint_id in revived:
        repository.hurry(session, organization_id, endpoint_id, now)
    session.flush()


_GONE = sender.Answer(None, 0, None, "The event is no longer kept (ORDERLY_EVENT_RETENTION_DAYS)")


class Dispatcher:
    def __init__(self, database: Database) -> None:
        self.database = database
        self._wake = asyncio.Event()
        self._stopping = False
        self._serving = False  # some endpoint was enabled at the last look
        self._secrets: dict[str, str] = {}
        self._box: SecretBox | None = None

    def _woken(self, loop: asyncio.AbstractEventLoop) -> None:
        if self._serving and not self._wake.is_set():
            loop.call_soon_threadsafe(self._wake.set)

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        listener = partial(self._woken, loop)
        events.on_commit(listener)
        pause = _ERROR_PAUSE[0]
        try:
            async with sender.new_session(CONCURRENCY) as client:
                while not self._stopping:
                    try:
                        busy = await self.round(client)
                        pause = _ERROR_PAUSE[0]
                    except (SQLAlchemyError, OSError) as exc:
                        # The database is away: the work waits in it, nothing is lost.
                        log.warning("Webhook dispatcher: %s; retrying in %.0f s", exc, pause)
                        await asyncio.sleep(pause)
                        pause = min(pause * 2, _ERROR_PAUSE[1])
                        continue
                    if not busy:
                        self._wake.clear()
                        with contextlib.suppress(TimeoutError):
                            await asyncio.wait_for(self._wake.wait(), POLL_SECONDS)
        finally:
            events.remove_listener(listener)

    def stop(self) -> None:
        self._stopping = True
        self._wake.set()

    async def round(self, client: aiohttp.ClientSession) -> bool:
        """One round of queue, claim, send, record; whether there was work."""
        database = self.database
        now = utc_now()
        seen = await database.run(partial(repository.outlook, now=now), write=False)
        self._serving = seen.serving
        if not seen.work:
            return False
        looked = await database.run(partial(queue_new_events, now=now), write=True)
        timeout = get_settings().webhook_timeout_seconds
        lease = timedelta(seconds=timeout * (BATCH // CONCURRENCY + 1) + 5)
        claimed = await database.run(
            partial(repository.claim_due, now=now, lease_until=now + lease, limit=BATCH),
            write=True,
        )
        if claimed:
            answers = await self.send_all(client, claimed, timeout)
            await database.run(
                partial(record, claimed=claimed, answers=answers, now=utc_now()), write=True
            )
        return bool(looked or claimed)

    async def send_all(
        self, client: aiohttp.ClientSession, claimed: Sequence[repository.Claimed], timeout: float
    ) -> list[sender.Answer]:
        slots = asyncio.Semaphore(CONCURRENCY)

        async def one(delivery: repository.Claimed) -> sender.Answer:
            if delivery.body is None:
                return _GONE
            async with slots:
                return await sender.send(
                    client,
                    delivery.url,
                    self._secret(delivery.secret),
                    delivery.event_id,
                    delivery.body,
                    timeout,
                )

        return list(await asyncio.gather(*(one(d) for d in claimed)))

    def _secret(self, sealed: str) -> str:
        secret = self._secrets.get(sealed)
        if secret is None:
            if self._box is None:
                self._box = secret_box(self.database.url)
            secret = self._secrets[sealed] = self._box.open(sealed)
        return secret


async def measure_backlog(database: Database) -> Any:
    """Queue depth and the oldest pending delivery's age, for /metrics."""
    found = await database.run(repository.backlog, write=False)
    OUTBOUND_QUEUE.set(found.pending)
    age = (utc_now() - found.oldest).total_seconds() if found.oldest else 0
    OUTBOUND_OLDEST.set(max(age, 0))
    return found
