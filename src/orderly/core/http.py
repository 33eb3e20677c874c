"""JSON in and out with exact decimals: money never passes through a binary float."""

import json
from collections.abc import Callable, Coroutine
from decimal import Decimal
from typing import Annotated, Any

import orjson
import starlette.responses
from fastapi import Request, Response
from fastapi.routing import APIRoute
from pydantic import BeforeValidator
from starlette.types import Scope


def _reject_constant(name: str) -> None:
    raise json.JSONDecodeError(f"{name} is not valid JSON", name, 0)


def has_unstorable_text(value: Any) -> bool:
    """NUL and unpaired surrogates: valid JSON escapes, but no database stores them as text."""
    if isinstance(value, str):
        return "\x00" in value or any("\ud800" <= ch <= "\udfff" for ch in value)
    if isinstance(value, dict):
        return any(has_unstorable_text(k) or has_unstorable_text(v) for k, v in value.items())
    if isinstance(value, list):
        return any(has_unstorable_text(v) for v in value)
    return False


def parse_json(body: bytes | str) -> Any:
    """JSON with every non-integer number read as ``Decimal``; NaN, Infinity, NUL refused."""
    try:
        parsed = json.loads(body, parse_float=Decimal, parse_constant=_reject_constant)
    except RecursionError:
        raise json.JSONDecodeError("Nested too deeply", "", 0) from None
    except UnicodeDecodeError:
        raise json.JSONDecodeError("Not UTF-8", "", 0) from None
    escapes = b"\\u" if isinstance(body, bytes) else "\\u"
    if escapes in body and has_unstorable_text(parsed):  # type: ignore[operator]
        raise json.JSONDecodeError("NUL or unpaired surrogate in a string", "", 0)
    return parsed


def _whole_number(value: Any) -> Any:
    # Query strings are text: "20" is a whole number; "20.0", "2e1" and " 20" are refused rather
    # than read leniently.
    if isinstance(value, str) and not (value.isascii() and value.isdigit()):
        raise ValueError("Must be a whole number written with digits only")
    return value


QueryInt = Annotated[int, BeforeValidator(_whole_number)]
"""An integer query parameter."""


def _exact_decimal(value: Any) -> Any:
    if isinstance(value, Decimal):
        return orjson.Fragment(str(value))  # written as the number it is, never via a float
    raise TypeError


_ORJSON_OPTIONS = orjson.OPT_UTC_Z | orjson.OPT_NAIVE_UTC
_INT_RANGE = range(-(2**63), 2**64)  # the integers orjson writes itself


def _big_integers_as_text(value: Any) -> Any:
    """``value`` with integers beyond 64 bits (a client's ``meta`` may hold them) made number
    fragments, written digit for digit."""
    if isinstance(value, int) and not isinstance(value, bool) and value not in _INT_RANGE:
        return orjson.Fragment(str(value))
    if isinstance(value, dict):
        return {key: _big_integers_as_text(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_big_integers_as_text(item) for item in value]
    return value


def _deeply_nested_json(content: Any) -> bytes:
    """JSON of data nested deeper than orjson goes (254 levels), written with an explicit stack
    instead of recursion: ``meta`` stored before its depth limit must still be shown and
    exported whole."""
    parts: list[bytes] = []
    stack: list[Any] = [content]
    while stack:
        item = stack.pop()
        if isinstance(item, bytes):  # punctuation pushed below; values never hold bytes
            parts.append(item)
        elif isinstance(item, dict):
            stack.append(b"}")
            for index, (key, value) in reversed(list(enumerate(item.items()))):
                stack.append(value)
                stack.append((b"," if index else b"") + orjson.dumps(str(key)) + b":")
            stack.append(b"{")
        elif isinstance(item, list | tuple):
            stack.append(b"]")
            for index, value in reversed(list(enumerate(item))):
                stack.append(value)
                if index:
                    stack.append(b",")
            stack.append(b"[")
        else:
            parts.append(dump_json(item))
    return b"".join(parts)


def dump_json(content: Any) -> bytes:
    """JSON bytes with exact decimals and ISO 8601 UTC times (``Z``), by orjson."""
    try:
        return orjson.dumps(content, default=_exact_decimal, option=_ORJSON_OPTIONS)
    except orjson.JSONEncodeError:
        pass
    # orjson gives up on integers beyond 64 bits and on nesting past 254 levels.
    try:
        content = _big_integers_as_text(content)
        return orjson.dumps(content, default=_exact_decimal, option=_ORJSON_OPTIONS)
    except (orjson.JSONEncodeError, RecursionError):
        return _deeply_nested_json(content)


class JSONResponse(starlette.responses.JSONResponse):
    """Starlette's JSON response (so FastAPI describes the declared schema in /openapi.json),
    written by ``dump_json``."""

    def render(self, content: Any) -> bytes:
        return dump_json(content)


class DecimalJSONRequest(Request):
    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            self._json = parse_json(await self.body())
        return self._json


def _as_json_request(scope: Scope) -> Scope:
    """The API only speaks JSON: a body sent as form or text is still read (and checked) as JSON."""
    headers = [(k, v) for k, v in scope["headers"] if k != b"content-type"]
    return {**scope, "headers": [*headers, (b"content-type", b"application/json")]}


class DecimalJSONRoute(APIRoute):
    """Routes whose request bodies are parsed by ``parse_json``."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def handle(request: Request) -> Response:
            scope = request.scope
            if request.method in ("POST", "PUT", "PATCH", "DELETE"):
                scope = _as_json_request(scope)
            return await handler(DecimalJSONRequest(scope, request.receive))

        return handle
