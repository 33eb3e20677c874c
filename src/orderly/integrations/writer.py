"""Group commit for webhooks: deliveries that arrive together are written together.

Platforms send bursts (a sale, a bulk status change), and each delivery on its own would pay
for a transaction, a commit and, on SQLite, a turn at the one write lock. Here the webhook
endpoint hands its request to this process's writer thread and waits; the thread takes every
request waiting at that moment (up to ``MAX_BATCH``), stores and processes them in one
transaction with ``service.receive`` (new orders inserted together), commits once, and only then
answers each. A request is answered 2xx only once its delivery is committed; if the commit fails,
every request of the batch gets the error and its platform sends it again.

This is the one place outside ``SessionDep`` that owns a session: one commit per batch of
requests instead of one per request.
"""

import asyncio
import logging
import queue
import threading
from concurrent.futures import Future
from dataclasses import dataclass, field

from orderly.core.db import begin_write, session_factory
from orderly.integrations import service

log = logging.getLogger(__name__)

MAX_BATCH = 100


@dataclass
class _Job:
    incoming: service.Incoming
    answer: Future[service.Received] = field(default_factory=Future)


class WebhookWriter:
    def __init__(self, database_url: str) -> None:
        self.database_url = database_url
        self._jobs: queue.SimpleQueue[_Job] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._starting = threading.Lock()

    async def submit(self, incoming: service.Incoming) -> service.Received:
        """Store and process one request; returns once its batch is committed."""
        self._start()
        job = _Job(incoming)
        self._jobs.put(job)
        return await asyncio.wrap_future(job.answer)

    def _start(self) -> None:
        if self._thread is not None:
            return
        with self._starting:
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="orderly-webhook-writer", daemon=True
                )
                self._thread.start()

    def _run(self) -> None:
        while True:
            batch = [self._jobs.get()]
            while len(batch) < MAX_BATCH:
                try:
                    batch.append(self._jobs.get_nowait())
                except queue.Empty:
                    break
            # A request whose client went away is dropped (its platform sends it again); the
            # others can no longer be cancelled, so each gets its answer.
            batch = [job for job in batch if job.answer.set_running_or_notify_cancel()]
            if batch:
                self._write(batch)

    def _write(self, batch: list[_Job]) -> None:
        try:
            with session_factory(self.database_url)() as session:
                begin_write(session)
                try:
                    answers = service.receive(session, [job.incoming for job in batch])
                    session.commit()
                except BaseException:
                    session.rollback()
                    raise
        except Exception as exc:
            log.exception("Storing %d webhook deliveries failed", len(batch))
            for job in batch:
                job.answer.set_exception(exc)
            return
        for job, answer in zip(batch, answers, strict=True):
            job.answer.set_result(answer)
