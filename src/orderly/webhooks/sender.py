"""One signed POST of an event to an endpoint, and what came of it.

Signed the Standard Webhooks way (https://www.standardwebhooks.com/, with the specification's
own ``standardwebhooks`` package): ``webhook-id`` (the event's id, the same on every retry, so
a receiver drops what it already has), ``webhook-timestamp`` and ``webhook-signature``
(``v1,`` + base64 HMAC-SHA256 of ``id.timestamp.body`` under the endpoint's secret).
Redirects are not followed: a 3xx is a failed attempt, as any answer but 2xx.
"""

import asyncio
import base64
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime

import aiohttp
from standardwebhooks import Webhook

from orderly import __version__
from orderly.core.outbound import DestinationRefused, resolve

RESPONSE_KEPT_BYTES = 1024
SECRET_PREFIX = "whsec_"  # noqa: S105 (the format's prefix, not a secret)


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def signed_headers(secret: str, message_id: str, body: str, at: datetime) -> dict[str, str]:
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": Webhook(secret).sign(message_id, at, body),
    }


@dataclass(frozen=True)
class Answer:
    status_code: int | None
    duration_ms: int
    response: str | None
    error: str | None
    refused: bool = False  # the destination may not be called at all

    @property
    def delivered(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def _describe(exc: BaseException, timeout: float) -> str:
    if isinstance(exc, TimeoutError):
        return f"No answer within {timeout:g} s"
    if isinstance(exc, aiohttp.ClientConnectorError):
        reason = exc.os_error.strerror or "refused"
        return f"Could not connect to {exc.host}:{exc.port}: {reason}"
    if isinstance(exc, aiohttp.ServerDisconnectedError | aiohttp.ClientPayloadError):
        return "The connection ended without an answer"
    return f"{type(exc).__name__}: {exc}"


def new_session(concurrency: int) -> aiohttp.ClientSession:
    """The HTTP client of deliveries: ``concurrency`` connections at most, kept alive between
    attempts (aiohttp: an asyncio client many times faster than httpx's at this, measured in
    docs/performance.md)."""
    return aiohttp.ClientSession(
        # Idle connections are dropped before most servers drop them (uvicorn after 5 s): a
        # connection the server has just closed would fail the attempt for nothing.
        connector=aiohttp.TCPConnector(
            limit=concurrency, limit_per_host=concurrency, keepalive_timeout=4
        ),
        auto_decompress=False,
    )


async def send(
    client: aiohttp.ClientSession,
    url: str,
    secret: str,
    message_id: str,
    body: str,
    timeout: float,
) -> Answer:
    """POST ``body`` to ``url``, signed; never raises for what the endpoint did."""
    started = time.monotonic()

    def elapsed() -> int:
        return int((time.monotonic() - started) * 1000)

    try:
        destination = await resolve(url)
    except DestinationRefused as exc:
        return Answer(None, elapsed(), None, f"Refused: {exc}", refused=True)
    headers = {
        **signed_headers(secret, message_id, body, datetime.now(UTC)),
        "Content-Type": "application/json",
        "User-Agent": f"Orderly-Webhooks/{__version__}",
        "Host": destination.host,
    }
    tls = {"server_hostname": destination.sni} if destination.scheme == "https" else {}
    try:
        async with asyncio.timeout(timeout):
            async with client.post(
                destination.url,
                data=body.encode(),
                headers=headers,
                allow_redirects=False,
                **tls,  # type: ignore[arg-type]
            ) as response:
                kept = b""
                while len(kept) < RESPONSE_KEPT_BYTES:
                    chunk = await response.content.read(RESPONSE_KEPT_BYTES - len(kept))
                    if not chunk:
                        break
                    kept += chunk
                status, reason = response.status, response.reason or ""
                location = response.headers.get("Location", "")
    except (TimeoutError, aiohttp.ClientError, OSError) as exc:
        return Answer(None, elapsed(), None, _describe(exc, timeout))
    text = kept.decode("utf-8", "replace")
    if 200 <= status < 300:
        return Answer(status, elapsed(), text, None)
    if 300 <= status < 400:
        error = f"Answered {status} (redirects are not followed): {location}"[:500]
    else:
        error = f"Answered {status} {reason}".strip()
    return Answer(status, elapsed(), text, error)
