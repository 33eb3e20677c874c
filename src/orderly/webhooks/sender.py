"""One signed POST of an event to an endpoint, and what came of it.

Signed the Standard Webhooks way (https://www.standardwebhooks.com/, with the specification's
own ``standardwebhooks`` package): ``webhook-id`` (the event's id, the same on every retry, so
a receiver drops what it already has), ``webhook-timestamp`` and ``webhook-signature``
(``v1,`` + base64 HMAC-SHA256 of ``id.timestamp.body`` under the endpoint's secret).
Redirects are not followed: a 3xx is a failed attempt, as any answer but 2xx.
"""

import base64
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx
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


def _describe(exc: Exception, timeout: float) -> str:
    if isinstance(exc, httpx.TimeoutException):
        return f"No answer within {timeout:g} s ({type(exc).__name__})"
    if isinstance(exc, httpx.ConnectError):
        return f"Could not connect: {exc or type(exc).__name__}"
    if isinstance(exc, httpx.RemoteProtocolError):
        return f"The connection ended without an answer: {exc}"
    return f"{type(exc).__name__}: {exc}"


async def send(
    client: httpx.AsyncClient, url: str, secret: str, message_id: str, body: str, timeout: float
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
        "content-type": "application/json",
        "user-agent": f"Orderly-Webhooks/{__version__}",
        "host": destination.host,
    }
    extensions = {"sni_hostname": destination.sni} if destination.scheme == "https" else {}
    try:
        request = client.build_request(
            "POST",
            destination.url,
            content=body.encode(),
            headers=headers,
            extensions={**extensions, "timeout": httpx.Timeout(timeout).as_dict()},
        )
        response = await client.send(request, stream=True, follow_redirects=False)
        try:
            kept = b""
            async for chunk in response.aiter_raw():
                kept += chunk
                if len(kept) >= RESPONSE_KEPT_BYTES:
                    break
        finally:
            await response.aclose()
    except (httpx.HTTPError, OSError) as exc:
        return Answer(None, elapsed(), None, _describe(exc, timeout))
    text = kept[:RESPONSE_KEPT_BYTES].decode("utf-8", "replace")
    status = response.status_code
    error = None if 200 <= status < 300 else _status_error(response)
    return Answer(status, elapsed(), text, error)


def _status_error(response: httpx.Response) -> str:
    if response.is_redirect:
        where = response.headers.get("location", "")
        return f"Answered {response.status_code} (redirects are not followed): {where}"[:500]
    return f"Answered {response.status_code} {response.reason_phrase}".strip()
