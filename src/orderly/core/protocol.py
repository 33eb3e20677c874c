"""How uvicorn serves Orderly: the HTTP/1.1 protocol and the proxies it believes.

The protocol is uvicorn's httptools parser, whose own answer to a request it cannot parse (a
NUL in a header, a malformed request line) is the API's error envelope instead of plain text,
since without a proxy in front that answer reaches clients.
"""

from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from orderly.core.config import get_settings
from orderly.core.http import dump_json


class EnvelopeHttpToolsProtocol(HttpToolsProtocol):
    def send_400_response(self, msg: str) -> None:
        body = dump_json({"code": 400, "error": "Malformed HTTP request", "details": {"http": msg}})
        head = [b"HTTP/1.1 400 Bad Request\r\n"]
        head += [
            name + b": " + value + b"\r\n" for name, value in self.server_state.default_headers
        ]
        head += [
            b"content-type: application/json\r\n",
            b"content-length: " + str(len(body)).encode("ascii") + b"\r\n",
            b"connection: close\r\n\r\n",
        ]
        self.transport.write(b"".join(head) + body)
        self.transport.close()


def server_options() -> dict[str, Any]:
    """``uvicorn.run``/``uvicorn.Config`` options: the protocol above, and forwarded headers
    (X-Forwarded-For, -Proto) believed only from ``ORDERLY_TRUSTED_PROXIES``, never from anyone
    (uvicorn's default trusts whatever connects from 127.0.0.1)."""
    proxies = [p.strip() for p in get_settings().trusted_proxies.split(",") if p.strip()]
    return {
        "http": EnvelopeHttpToolsProtocol,
        "proxy_headers": bool(proxies),
        "forwarded_allow_ips": proxies or None,
    }
