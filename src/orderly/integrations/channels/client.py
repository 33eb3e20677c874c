"""Calls to a platform's API: to a checked address, with the platform's credentials, retried
with backoff on 5xx, timeouts and 429 (its ``Retry-After`` first), paced by its rate-limit
headers, and sorted into the answers a walk or a push acts on."""

import asyncio
import random
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

import aiohttp

from orderly.core.config import get_settings
from orderly.core.outbound import DestinationRefused, resolve
from orderly.core.telemetry import PLATFORM_CALLS
from orderly.integrations.channels.base import Answer, Call, Channel, Credentials

KEPT_BODY_BYTES = 500


class PlatformError(Exception):
    """A call that did not get the platform's yes; ``str`` says why, for the run or push."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class CredentialsRefused(PlatformError):
    """401 or 403: the connection needs its owner's attention."""


class Refused(PlatformError):
    """Another 4xx: this request will not be taken as it is."""


class Unavailable(PlatformError):
    """No answer, 5xx or 429 after every retry (or a ``Retry-After`` too long to wait, in
    ``retry_after``)."""

    def __init__(self, message: str, status: int | None = None, retry_after: float = 0) -> None:
        super().__init__(message, status)
        self.retry_after = retry_after


def _excerpt(body: bytes) -> str:
    return body[:KEPT_BODY_BYTES].decode("utf-8", "replace")


def _answer_class(status: int) -> str:
    return "429" if status == 429 else f"{status // 100}xx"


def retry_after(headers: Mapping[str, str]) -> float | None:
    try:
        return max(0.0, float(headers["retry-after"]))
    except (KeyError, ValueError):
        return None


@dataclass
class PlatformClient:
    """One connection's calls, sharing an aiohttp session; ``requests`` counts what was
    sent (retries included)."""

    http: aiohttp.ClientSession
    channel: Channel
    credentials: Credentials
    requests: int = 0

    async def __call__(self, call: Call) -> Answer:
        settings = get_settings()
        url = (
            call.path
            if urlsplit(call.path).scheme
            else self.channel.base_url(self.credentials).rstrip("/") + call.path
        )
        delay = settings.platform_retry_base_seconds
        problem = "no attempt"
        for attempt in range(settings.platform_retries + 1):
            if attempt:
                await asyncio.sleep(delay * random.uniform(0.8, 1.2))
                delay *= 2
            try:
                answer = await self._send(url, call, settings.platform_timeout_seconds)
            except DestinationRefused as exc:
                raise Refused(f"Refused: {exc}") from None
            except (aiohttp.ClientError, TimeoutError, OSError) as exc:
                PLATFORM_CALLS.labels(self.channel.platform.value, "error").inc()
                problem = f"No answer: {type(exc).__name__} {exc}".strip()
                continue
            PLATFORM_CALLS.labels(self.channel.platform.value, _answer_class(answer.status)).inc()
            if answer.status == 429:
                wait = retry_after(answer.headers)
                if wait is not None and wait > settings.platform_longest_wait_seconds:
                    raise Unavailable(f"429, Retry-After {wait:g} s", 429, retry_after=wait)
                problem = "429 Too Many Requests"
                if wait is not None:
                    delay = max(wait, 0.001)
                continue
            if answer.status >= 500:
                problem = f"{answer.status}: {_excerpt(answer.body)}"
                continue
            if answer.status in (401, 403):
                raise CredentialsRefused(
                    f"{answer.status}: the platform refused the credentials", answer.status
                )
            if answer.status >= 400:
                raise Refused(f"{answer.status}: {_excerpt(answer.body)}", answer.status)
            pause = self.channel.pause_after(answer)
            if pause:
                await asyncio.sleep(pause)
            return answer
        raise Unavailable(problem)

    async def _send(self, url: str, call: Call, timeout: float) -> Answer:
        destination = await resolve(url)
        headers = {
            **self.channel.headers(self.credentials),
            "Host": destination.host,
            "Accept": "application/json",
            "User-Agent": "Orderly",
        }
        tls = {"server_hostname": destination.sni} if destination.scheme == "https" else {}
        self.requests += 1
        async with asyncio.timeout(timeout):
            async with self.http.request(
                call.method,
                destination.url,
                params=dict(call.params) or None,
                json=call.json,
                data=dict(call.form) if call.form is not None else None,
                headers=headers,
                allow_redirects=False,
                **tls,  # type: ignore[arg-type]
            ) as response:
                body = await response.read()
                return Answer(
                    status=response.status,
                    headers={k.lower(): v for k, v in response.headers.items()},
                    body=body,
                )


def new_http() -> aiohttp.ClientSession:
    return aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=16), timeout=aiohttp.ClientTimeout(total=None)
    )
