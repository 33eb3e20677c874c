"""ASGI middleware every answer passes: the body size limit and the security headers."""

import hashlib
import re
from base64 import b64encode

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from orderly.core.errors import BodyTooLarge, PayloadTooLarge, envelope


class BodySizeLimit:
    """Refuse bodies over the configured size before they are read into memory."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(scope, receive, send)
            return
        received = 0

        async def counted_receive() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.max_bytes:
                raise BodyTooLarge(self.max_bytes)
            return message

        await self.app(scope, counted_receive, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = envelope(
            413, PayloadTooLarge.message, {"body": f"At most {self.max_bytes} bytes"}
        )
        await response(scope, receive, send)


async def read_body(request: Request, max_bytes: int) -> bytes:
    """The request's body, or ``BodyTooLarge`` once it passes ``max_bytes`` (an endpoint's own
    limit, below the service-wide one of ``BodySizeLimit``)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise BodyTooLarge(max_bytes)
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > max_bytes:
            raise BodyTooLarge(max_bytes)
        chunks.append(chunk)
    return b"".join(chunks)


_EVERY_ANSWER = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
]
_DOCS_PAGES = frozenset({"/docs", "/redoc"})
# Answers that carry no order or customer data, which caches may keep; every other answer
# (the API, webhooks, the dashboard's pages) says no-store, so that no browser, proxy or CDN
# keeps customers' names and phones.
_CACHEABLE = ("/static/", "/docs-assets/", "/openapi.json", "/healthz", "/readyz", "/metrics")
_NO_STORE = (b"cache-control", b"no-store")
_INLINE_SCRIPT = re.compile(rb"<script>(.*?)</script>", re.DOTALL)


def _docs_policy(page: bytes) -> bytes:
    """A strict Content-Security-Policy for an API docs page: scripts only from Orderly itself
    and the page's own inline script (by its hash); styles inline too, as Swagger UI and ReDoc
    set them from script; the page may only fetch from Orderly (the schema)."""
    hashes = " ".join(
        "'sha256-" + b64encode(hashlib.sha256(script).digest()).decode() + "'"
        for script in _INLINE_SCRIPT.findall(page)
    )
    return (
        "default-src 'none'; "
        f"script-src 'self' {hashes}; "
        "style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; font-src 'self'; connect-src 'self'; worker-src 'self' blob:; "
        "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    ).encode()


class SecurityHeaders:
    """``nosniff``, no framing and no referrer on every answer, ``Cache-Control: no-store`` on
    every answer that may carry order or customer data; the headers a request's
    handlers left in ``request.state.response_headers`` (rate limit counters, which an endpoint
    that returns its own response cannot set); a strict CSP on /docs and /redoc."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope["path"] in _DOCS_PAGES:
            await self._docs_page(scope, receive, send)
            return
        state = scope.setdefault("state", {})
        cacheable = scope["path"].startswith(_CACHEABLE)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                extra = [
                    (k.lower().encode(), v.encode())
                    for k, v in state.get("response_headers", {}).items()
                ]
                headers = [*message.get("headers", ()), *_EVERY_ANSWER, *extra]
                if not cacheable and all(name.lower() != b"cache-control" for name, _ in headers):
                    headers.append(_NO_STORE)
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)

    async def _docs_page(self, scope: Scope, receive: Receive, send: Send) -> None:
        start: Message | None = None
        body = b""

        async def buffered(message: Message) -> None:
            nonlocal start, body
            if message["type"] == "http.response.start":
                start = message
            else:
                body += message.get("body", b"")

        await self.app(scope, receive, buffered)
        assert start is not None
        policy = (b"content-security-policy", _docs_policy(body))
        start["headers"] = [*start.get("headers", ()), *_EVERY_ANSWER, policy]
        await send(start)
        await send({"type": "http.response.body", "body": body})
