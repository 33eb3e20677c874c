"""The platform sync worker that ``orderly serve`` runs in each process: due polls and
backfills under way (each connection walked by one worker at a time, by its lease), then
push back. Several processes and nodes share the work; none of it is lost when one stops."""

import asyncio
import contextlib
import logging

from sqlalchemy.exc import SQLAlchemyError

from orderly.core.db import Database
from orderly.core.ids import random_token
from orderly.core.telemetry import INTEGRATIONS_NEEDING_ATTENTION
from orderly.integrations import pushback, repository, sync
from orderly.integrations.channels.client import new_http

log = logging.getLogger(__name__)

TICK_SECONDS = 1.0  # how often due work is looked for (one indexed query)
_ERROR_PAUSE = (1.0, 30.0)


class SyncWorker:
    def __init__(self, database: Database) -> None:
        self.database = database
        self.owner = random_token(16)
        self._stopping = asyncio.Event()

    async def run(self) -> None:
        pause = _ERROR_PAUSE[0]
        async with new_http() as http:
            while not self._stopping.is_set():
                try:
                    for target in await self.database.run(sync.due, write=False):
                        if self._stopping.is_set():
                            break
                        await sync.walk(
                            self.database, http, target, owner=self.owner, due_only=True
                        )
                    await pushback.send_due(self.database, http)
                    pause = _ERROR_PAUSE[0]
                except (SQLAlchemyError, OSError) as exc:
                    # The database is away: the work waits in it.
                    log.warning("Platform sync: %s; retrying in %.0f s", exc, pause)
                    await self._sleep(pause)
                    pause = min(pause * 2, _ERROR_PAUSE[1])
                    continue
                except Exception:
                    log.exception("Platform sync round failed")
                await self._sleep(TICK_SECONDS)

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), seconds)

    def stop(self) -> None:
        self._stopping.set()


async def measure_attention(database: Database) -> int:
    """How many connections need their owner's attention, for /metrics."""
    count = await database.run(repository.count_needing_attention, write=False)
    INTEGRATIONS_NEEDING_ATTENTION.set(count)
    return count
