"""``Idempotency-Key`` on the API's writes (POST, PATCH and DELETE under /api/v1, webhooks
aside: platforms carry their own event ids).

A middleware rather than a dependency because the answer to keep is the finished response,
status and body, as the client receives it. Requests without the header pass straight through.
"""

from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any

from starlette.datastructures import Headers
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from orderly.auth.deps import bearer_of, caller_for
from orderly.core.db import Database
from orderly.core.errors import (
    BodyTooLarge,
    OrderlyError,
    PayloadTooLarge,
    envelope,
    error_response,
)
from orderly.idempotency import service
from orderly.idempotency.service import StoredAnswer

_WRITES = frozenset({"POST", "PATCH", "DELETE"})
_WEBHOOKS = "/api/v1/webhooks/"


class IdempotencyKeys:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        key = _key_of(scope)
        # A request no route serves (a wrong method, an unknown path) is answered as it would be
        # without a key: its 404 or 405 claims nothing and is kept for no one.
        if key is None or not _routed(scope):
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        database: Database = scope["app"].state.database
        try:
            service.check_key(key)
            caller = await caller_for(
                database,
                scope["app"].state.limiter,
                bearer_of(headers.get("authorization")),
                scope["client"][0] if scope.get("client") else "",
            )
            organization = caller.organization
        except OrderlyError as exc:
            await error_response(exc)(scope, receive, send)
            return
        try:
            body = await _read_body(receive)
        except BodyTooLarge as exc:
            await envelope(413, PayloadTooLarge.message, {"body": exc.detail})(scope, receive, send)
            return

        method, path = scope["method"], scope["path"]
        fingerprint = service.request_hash(method, path, scope.get("query_string", b""), body)
        claim = service.Claim(organization.id, key, fingerprint, method, path)
        try:
            answer, replayed = await self._run_once(database, claim, scope, body, receive)
        except OrderlyError as exc:
            await error_response(exc)(scope, receive, send)
            return
        await _send_answer(send, answer, replayed=replayed)

    async def _run_once(
        self,
        database: Database,
        claim: "service.Claim",
        scope: Scope,
        body: bytes,
        receive: Receive,
    ) -> tuple[StoredAnswer, bool]:
        """The answer to send and whether it is a replay. The claim, the request's writes and
        its answer are one transaction (``request_unit``): a process killed anywhere leaves
        either all three or none, so a retry either replays or runs the request, never both."""
        try:
            async with database.request_unit():
                stored = await database.run(partial(service.claim, wanted=claim), write=True)
                if stored is not None:
                    return stored, True
                answer = await _run_buffered(self.app, scope, _replaying(body, receive))
                if not service.is_success(answer.status_code):
                    raise _Refused(answer)  # its writes, if any, are undone with the claim's
                await database.run(partial(service.finish, wanted=claim, answer=answer), write=True)
        except _Refused as refused:
            # Nothing was written; an answer worth replaying (a 404, say) is kept on its own.
            answer = refused.answer
            if service.is_kept(answer.status_code):
                keep = partial(service.keep_refusal, wanted=claim, answer=answer)
                await database.run(keep, write=True)
        return answer, False


class _Refused(Exception):
    def __init__(self, answer: StoredAnswer) -> None:
        self.answer = answer


def _takes_keys(method: str, path: str) -> bool:
    return method in _WRITES and path.startswith("/api/v1/") and not path.startswith(_WEBHOOKS)


def _routed(scope: Scope) -> bool:
    return any(route.matches(scope)[0] == Match.FULL for route in scope["app"].router.routes)


def _key_of(scope: Scope) -> str | None:
    if scope["type"] != "http" or not _takes_keys(scope["method"], scope["path"]):
        return None
    return Headers(scope=scope).get("idempotency-key")


_HEADER = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": "Any unique string (a UUID): a retry with the same key and request gets the"
    " first answer again (with `Idempotent-Replayed: true`) instead of writing twice; kept 24"
    " hours.",
    "schema": {"type": "string", "minLength": 1, "maxLength": service.MAX_KEY_LENGTH},
}


def describe(openapi: dict[str, Any]) -> dict[str, Any]:
    """Declare the header (and its 409 and 422) on every operation the middleware covers."""
    for path, operations in openapi.get("paths", {}).items():
        for method, operation in operations.items():
            if not _takes_keys(method.upper(), path):
                continue
            operation.setdefault("parameters", []).append(_HEADER)
            for error in (service.StillRunning, service.KeyReused):
                operation["responses"].setdefault(
                    str(error.status_code),
                    {
                        "description": error.message,
                        "content": {"application/json": {"schema": _ENVELOPE_REF}},
                    },
                )
    return openapi


_ENVELOPE_REF = {"$ref": "#/components/schemas/ErrorEnvelope"}


async def _read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _replaying(body: bytes, receive: Receive) -> Receive:
    delivered = False

    async def replay() -> Message:
        nonlocal delivered
        if delivered:
            return await receive()  # waits for the client to go away, as a drained body does
        delivered = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay


async def _run_buffered(
    app: Callable[[Scope, Receive, Send], Awaitable[None]], scope: Scope, receive: Receive
) -> StoredAnswer:
    status_code, headers, chunks = 500, {}, []

    async def capture(message: Message) -> None:
        nonlocal status_code, headers
        if message["type"] == "http.response.start":
            status_code = message["status"]
            headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in message["headers"]}
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, receive, capture)
    return StoredAnswer(status_code, headers, b"".join(chunks))


async def _send_answer(send: Send, answer: StoredAnswer, *, replayed: bool) -> None:
    headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in answer.headers.items()]
    if "content-length" not in answer.headers:
        headers.append((b"content-length", str(len(answer.body)).encode()))
    if replayed:
        headers.append((b"idempotent-replayed", b"true"))
    await send({"type": "http.response.start", "status": answer.status_code, "headers": headers})
    await send({"type": "http.response.body", "body": answer.body})
