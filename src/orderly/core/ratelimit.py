"""Rate limits as token buckets, kept in Redis (shared by every worker and node) or in process.

A bucket holds ``rate.count`` tokens and refills at ``count`` per ``period``; each hit takes
one. It is kept as GCRA does (the generic cell rate algorithm, a token bucket stored as one
number): the theoretical arrival time ``tat`` of the next request at the steady rate. A hit at
``now`` is allowed when ``tat + interval - period <= now``; it moves ``tat`` one interval on.
"""

import asyncio
import logging
import math
import re
import time
from dataclasses import dataclass
from functools import lru_cache
from typing import Protocol

import redis.asyncio
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from orderly.core.telemetry import LIMITER_FALLBACKS, REDIS_STATE

log = logging.getLogger(__name__)

_UNITS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}


@dataclass(frozen=True)
class Rate:
    """``count`` requests per ``period`` seconds, all of them at once at most (the burst)."""

    count: int
    period: float

    @staticmethod
    def parse(text: str) -> "Rate":
        """``"100/minute"``, ``"5/second"``, ``"1000/hour"``, ``"10000/day"``."""
        return _parse(text)

    @property
    def interval(self) -> float:
        return self.period / self.count


@lru_cache(maxsize=64)  # settings are read per request; their text rarely changes
def _parse(text: str) -> Rate:
    match = re.fullmatch(r"\s*(\d+)\s*/\s*(second|minute|hour|day)s?\s*", text)
    if match is None or int(match.group(1)) == 0:
        raise ValueError(f"Not a rate like '100/minute': {text!r}")
    return Rate(int(match.group(1)), _UNITS[match.group(2)])


@dataclass(frozen=True)
class Decision:
    allowed: bool
    limit: int
    remaining: int
    retry_after: float  # seconds until a hit would be allowed (0 when allowed)
    reset_after: float  # seconds until the bucket is full again

    def headers(self) -> dict[str, str]:
        return {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset": str(math.ceil(self.reset_after)),
        }


_ROUNDING = 1e-6


def decide(rate: Rate, now: float, tat: float, *, take: bool) -> tuple[Decision, float]:
    """The decision for a hit at ``now`` on a bucket at ``tat``, and the bucket's new ``tat``."""
    tat = max(tat, now)
    new_tat = tat + rate.interval
    # Within a microsecond counts as on time: ``tat + interval - period`` of a full bucket is
    # ``now`` give or take the rounding of floats, which refused the first hit on some clocks.
    allow_at = new_tat - rate.period - _ROUNDING
    if now < allow_at:
        decision = Decision(False, rate.count, 0, allow_at - now, tat - now)
        return decision, tat
    after = new_tat if take else tat
    remaining_time = rate.period - (after - now)
    remaining = max(0, int(remaining_time / rate.interval + 1e-9))
    return Decision(True, rate.count, remaining, 0.0, after - now), after


class Limiter(Protocol):
    async def hit(self, key: str, rate: Rate) -> Decision: ...

    async def peek(self, key: str, rate: Rate) -> Decision: ...


class MemoryLimiter:
    """Buckets of this process only (the embedded default: one machine, limits per worker)."""

    def __init__(self) -> None:
        self._tats: dict[str, float] = {}

    async def hit(self, key: str, rate: Rate) -> Decision:
        return self.apply(key, rate, take=True)

    async def peek(self, key: str, rate: Rate) -> Decision:
        return self.apply(key, rate, take=False)

    def apply(self, key: str, rate: Rate, *, take: bool) -> Decision:
        now = time.monotonic()
        if len(self._tats) > 100_000:  # forget full buckets (their tat has passed)
            self._tats = {k: tat for k, tat in self._tats.items() if tat > now}
        decision, tat = decide(rate, now, self._tats.get(key, now), take=take)
        if take and decision.allowed:
            self._tats[key] = tat
        return decision


# The same rule as ``decide``, run inside Redis so that the read and the write are one step
# for every worker and node; the server's clock is everyone's clock.
_GCRA = """
local interval, period, take = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3] == '1'
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local new_tat = tat + interval
if now < new_tat - period - 0.000001 then
  return {0, tostring(new_tat - period - now), tostring(tat - now)}
end
if take then
  redis.call('SET', KEYS[1], tostring(new_tat), 'PX', math.ceil((new_tat - now) * 1000) + 1)
  return {1, '0', tostring(new_tat - now)}
end
return {1, '0', tostring(tat - now)}
"""


class RedisLimiter:
    """Buckets in Redis: one limit for every worker process and every node.

    Redis failing never fails a request. Each call waits at most ``timeout`` for it (no retries);
    when it does not answer, the buckets of this process answer instead (limits per process, as
    without Redis) and Redis is left alone for ``cooldown`` seconds before it is asked again, so
    a dead or frozen Redis costs one short wait per process every few seconds.
    """

    def __init__(
        self,
        url: str,
        prefix: str = "orderly:rate:",
        *,
        timeout: float = 0.25,
        cooldown: float = 5.0,
    ) -> None:
        self._redis = redis.asyncio.Redis.from_url(
            url,
            socket_timeout=timeout,
            socket_connect_timeout=timeout,
            retry=Retry(NoBackoff(), 0),  # the client's default retries for seconds
        )
        self._script = self._redis.register_script(_GCRA)
        self._prefix = prefix
        self._timeout, self._cooldown = timeout, cooldown
        self._fallback = MemoryLimiter()
        self._resume_at = 0.0  # while the circuit is open: when to ask Redis again

    async def hit(self, key: str, rate: Rate) -> Decision:
        return await self._apply(key, rate, take=True)

    async def peek(self, key: str, rate: Rate) -> Decision:
        return await self._apply(key, rate, take=False)

    @property
    def available(self) -> bool:
        """Whether Redis answered the last time it was asked."""
        return time.monotonic() >= self._resume_at

    async def _apply(self, key: str, rate: Rate, *, take: bool) -> Decision:
        if not self.available:
            return self._fallback.apply(key, rate, take=take)
        try:
            # The socket timeouts bound each read; this bounds the whole call (connect included).
            async with asyncio.timeout(self._timeout * 2):
                allowed, retry_after, reset_after = await self._script(
                    keys=[self._prefix + key],
                    args=[rate.interval, rate.period, "1" if take else "0"],
                )
        except (RedisError, OSError, TimeoutError) as exc:
            self._open_circuit(exc)
            return self._fallback.apply(key, rate, take=take)
        REDIS_STATE.up()
        reset = float(reset_after)
        remaining = 0 if not allowed else max(0, int((rate.period - reset) / rate.interval + 1e-9))
        return Decision(bool(allowed), rate.count, remaining, float(retry_after), reset)

    def _open_circuit(self, exc: BaseException) -> None:
        self._resume_at = time.monotonic() + self._cooldown
        LIMITER_FALLBACKS.inc()
        REDIS_STATE.down()
        log.warning(
            "Redis did not answer the rate limiter (%s); limits are this process's own for"
            " the next %.0f s",
            type(exc).__name__ if not str(exc) else exc,
            self._cooldown,
        )

    async def check(self) -> bool:
        """Whether Redis answers a ping now (for /healthz); the circuit is left as it is."""
        try:
            async with asyncio.timeout(self._timeout * 2):
                return bool(await self._redis.ping())
        except (RedisError, OSError, TimeoutError):
            return False

    async def close(self) -> None:
        await self._redis.aclose()


def limiter_for(redis_url: str | None) -> Limiter:
    return RedisLimiter(redis_url) if redis_url else MemoryLimiter()
