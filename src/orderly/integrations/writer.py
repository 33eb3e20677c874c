"""Group commit for webhooks: deliveries that arrive together are written together.

Platforms send bursts (a sale, a bulk status change), and each delivery on its own would pay
for a transaction, a commit and, on SQLite, a turn at the one write lock. Here the webhook
endpoint hands its request to this process's writer task and waits; the task takes every
request waiting at that moment (up to ``MAX_BATCH``), stores and processes them in one
transaction with ``service.receive`` (new orders inserted together), commits once, and only then
answers each. A request is answered 2xx only once its delivery is committed; if the commit fails,
every request of the batch gets the error and its platform sends it again.

The task takes its turn at the database like any request (``Database.run``), so it queues
with the API's writers instead of racing them for SQLite's write lock.
"""

import asyncio
import logging
from dataclasses import dataclass, field
from functools import partial

from orderly.core.db import Database
from orderly.integrations import service

log = logging.getLogger(__name__)

MAX_BATCH = 100


@dataclass
class _Job:
    incoming: service.Incoming
    answer: asyncio.Future[service.Received] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )


class WebhookWriter:
    def __init__(self, database: Database) -> None:
        self.database = database
        self._jobs: asyncio.Queue[_Job] | None = None
        self._task: asyncio.Task[None] | None = None

    async def submit(self, incoming: service.Incoming) -> service.Received:
        """Store and process one request; returns once its batch is committed."""
        if self._jobs is None or self._task is None or self._task.done():
            self._jobs = asyncio.Queue()
            self._task = asyncio.get_running_loop().create_task(self._run(self._jobs))
        job = _Job(incoming)
        self._jobs.put_nowait(job)
        return await job.answer

    async def _run(self, jobs: asyncio.Queue[_Job]) -> None:
        while True:
            batch = [await jobs.get()]
            while len(batch) < MAX_BATCH and not jobs.empty():
                batch.append(jobs.get_nowait())
            # A request whose client has gone is dropped (its platform sends it again).
            batch = [job for job in batch if not job.answer.done()]
            if batch:
                await self._write(batch)

    async def _write(self, batch: list[_Job]) -> None:
        incomings = [job.incoming for job in batch]
        try:
            answers = await self.database.run(
                partial(service.receive, incoming=incomings), write=True
            )
        except Exception as exc:
            log.exception("Storing %d webhook deliveries failed", len(batch))
            for job in batch:
                if not job.answer.done():
                    job.answer.set_exception(exc)
            return
        for job, answer in zip(batch, answers, strict=True):
            if not job.answer.done():  # a client gone while its batch was written
                job.answer.set_result(answer)
