"""One error base class and the handlers that render every failure as the API's error envelope.

The envelope is ``{"code": <status>, "error": <message>, "details": {<field>: <message>}}``.
Services raise ``OrderlyError`` subclasses; nothing below the routes knows about HTTP.
"""

import logging
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel
from sqlalchemy import exc as sqlalchemy_exc
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match
from starlette.types import Scope

from orderly.core.http import JSONResponse
from orderly.core.telemetry import DATABASE_STATE, DATABASE_UNAVAILABLE

log = logging.getLogger(__name__)


class OrderlyError(Exception):
    status_code = 500
    message = "Internal server error"

    def __init__(self, message: str | None = None, details: Mapping[str, Any] | None = None):
        self.message = message or self.message
        self.details = dict(details or {})
        super().__init__(self.message)


class Unauthorized(OrderlyError):
    status_code = 401
    message = "Unauthorized"


class NotFound(OrderlyError):
    status_code = 404
    message = "Not found"


class Conflict(OrderlyError):
    status_code = 409
    message = "Conflict"


class PreconditionFailed(OrderlyError):
    status_code = 412
    message = "Precondition failed"


class RateLimited(OrderlyError):
    status_code = 429
    message = "Too many requests"

    def __init__(self, retry_after: float, details: Mapping[str, Any] | None = None) -> None:
        super().__init__(details=details)
        self.retry_after = retry_after


class ServiceUnavailable(OrderlyError):
    """A dependency the request needs cannot be reached now; the client may try again."""

    status_code = 503
    message = "Service unavailable"

    def __init__(self, retry_after: float = 2, details: Mapping[str, Any] | None = None) -> None:
        super().__init__(details=details)
        self.retry_after = retry_after


# SQLSTATE classes of a database that cannot serve now, rather than of a request it refuses:
# connection exceptions, insufficient resources, operator intervention (shutdown, restart),
# and transactions it ended to be run again (deadlock, serialization).
_UNAVAILABLE_SQLSTATES = ("08", "53", "57P", "40")
_SQLITE_BUSY = ("database is locked", "disk i/o error", "unable to open database")


def database_unavailable(exc: BaseException) -> bool:
    """Whether ``exc`` says the database cannot be reached or cannot serve now (a restart, a
    lost connection, a full pool, SQLite's lock held too long), as opposed to a bug."""
    if isinstance(exc, sqlalchemy_exc.TimeoutError):  # no pooled connection came free in time
        return True
    if not isinstance(exc, sqlalchemy_exc.OperationalError | sqlalchemy_exc.InterfaceError):
        return False
    if exc.connection_invalidated:
        return True
    sqlstate = getattr(exc.orig, "sqlstate", None)
    if sqlstate is not None:
        return str(sqlstate).startswith(_UNAVAILABLE_SQLSTATES)
    text = str(exc.orig).lower()
    if type(exc.orig).__module__.startswith("sqlite3"):
        return any(message in text for message in _SQLITE_BUSY)
    return True  # psycopg's own: no SQLSTATE means the server was never reached


def unavailable_response() -> JSONResponse:
    DATABASE_UNAVAILABLE.inc()
    DATABASE_STATE.down()
    error = ServiceUnavailable(
        details={"database": "The database cannot be reached now; try again shortly"}
    )
    return error_response(error)


class PayloadTooLarge(OrderlyError):
    status_code = 413
    message = "Request body too large"


class BodyTooLarge(StarletteHTTPException):
    """Raised while a body is read past the size limit (a body sent in chunks, without a
    ``Content-Length`` to refuse it by). An HTTP exception because FastAPI lets those out of
    its body reading unchanged, where it would turn any other error into a plain 400."""

    def __init__(self, max_bytes: int) -> None:
        super().__init__(PayloadTooLarge.status_code, f"At most {max_bytes} bytes")


class ValidationFailed(OrderlyError):
    status_code = 422
    message = "Validation failed"


class MalformedBody(OrderlyError):
    status_code = 400
    message = "Malformed JSON"


class ErrorEnvelope(BaseModel):
    """Every error answer: the status again, what went wrong, and per field or item why."""

    code: int
    error: str
    details: dict[str, Any]


def error_responses(*errors: type[OrderlyError]) -> dict[int | str, dict[str, Any]]:
    """An endpoint's ``responses=``: the errors it can answer with, each in the envelope, so
    that /openapi.json declares them."""
    described: dict[int | str, dict[str, Any]] = {}
    for error in errors:
        entry = described.setdefault(
            error.status_code, {"model": ErrorEnvelope, "description": error.message}
        )
        if error.message not in entry["description"]:
            entry["description"] += f" / {error.message}"
    return described


def envelope(status: int, message: str, details: Mapping[str, Any] | None = None) -> JSONResponse:
    return JSONResponse(
        {"code": status, "error": message, "details": dict(details or {})}, status_code=status
    )


def field_path(loc: Sequence[int | str]) -> str:
    """``("body", "products", 0, "quantity")`` → ``"products.0.quantity"``."""
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or "body"


def clean_message(msg: str) -> str:
    # Pydantic prefixes messages raised from our own validators; the prefix tells a client nothing.
    for prefix in ("Value error, ", "Assertion failed, "):
        if msg.startswith(prefix):
            return msg[len(prefix) :]
    return msg


def validation_details(errors: Iterable[Mapping[str, Any]], prefix: str = "") -> dict[str, str]:
    details: dict[str, str] = {}
    for error in errors:
        path = field_path(error.get("loc", ()))
        key = f"{prefix}.{path}" if prefix and path != "body" else (prefix or path)
        details.setdefault(key, clean_message(str(error.get("msg", "Invalid value"))))
    return details


def _is_malformed_body(errors: Sequence[Mapping[str, Any]]) -> bool:
    return any(e.get("type") == "json_invalid" for e in errors)


async def _handle_orderly_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, OrderlyError)
    return error_response(exc)


def error_response(exc: OrderlyError) -> JSONResponse:
    """The envelope of a domain error, with the headers its status calls for."""
    response = envelope(exc.status_code, exc.message, exc.details)
    if isinstance(exc, Unauthorized):
        response.headers["WWW-Authenticate"] = "Bearer"
    if isinstance(exc, RateLimited | ServiceUnavailable):
        response.headers["Retry-After"] = str(max(1, math.ceil(exc.retry_after)))
    return response


async def _handle_request_validation(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = exc.errors()
    if _is_malformed_body(errors):
        details = {"body": "The request body is not valid JSON"}
        return envelope(MalformedBody.status_code, MalformedBody.message, details)
    return envelope(422, "Validation failed", validation_details(errors))


async def _handle_http_exception(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    if isinstance(exc, BodyTooLarge):
        return envelope(exc.status_code, PayloadTooLarge.message, {"body": exc.detail})
    messages = {404: "Not found", 405: "Method not allowed"}
    message = messages.get(exc.status_code, str(exc.detail))
    response = envelope(exc.status_code, message)
    for name, value in (exc.headers or {}).items():
        response.headers[name] = value
    if exc.status_code == 405:
        # Starlette names the methods of the first route on the path only.
        response.headers["Allow"] = ", ".join(allowed_methods(request.scope))
    return response


_METHODS = ("DELETE", "GET", "HEAD", "PATCH", "POST", "PUT")


def allowed_methods(scope: Scope) -> list[str]:
    """Every method some route serves at the request's path, asked of the routes themselves
    (included routers nest theirs)."""
    routes = scope["app"].router.routes
    return [
        method
        for method in _METHODS
        if any(route.matches({**scope, "method": method})[0] == Match.FULL for route in routes)
    ]


async def _handle_database_error(request: Request, exc: Exception) -> JSONResponse:
    if database_unavailable(exc):
        log.warning(
            "Database unavailable on %s %s: %s",
            request.method,
            request.url.path,
            str(getattr(exc, "orig", exc)).strip().splitlines()[:1],
        )
        return unavailable_response()
    return await _handle_unexpected(request, exc)


async def _handle_unexpected(request: Request, exc: Exception) -> JSONResponse:
    # Raised outside the routes (a middleware's query): still a 503 when the database is away.
    if database_unavailable(exc):
        return unavailable_response()
    # The traceback stays in the server's log; the client gets the envelope and its request id.
    request_id = getattr(request.state, "request_id", None)
    log.error(
        "Unhandled error on %s %s (request %s)",
        request.method,
        request.url.path,
        request_id,
        exc_info=exc,
        extra={"request_id": request_id},
    )
    return envelope(500, "Internal server error")


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(OrderlyError, _handle_orderly_error)
    app.add_exception_handler(RequestValidationError, _handle_request_validation)
    app.add_exception_handler(StarletteHTTPException, _handle_http_exception)
    app.add_exception_handler(sqlalchemy_exc.DBAPIError, _handle_database_error)
    app.add_exception_handler(sqlalchemy_exc.TimeoutError, _handle_database_error)
    app.add_exception_handler(Exception, _handle_unexpected)
