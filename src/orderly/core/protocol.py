"""The HTTP/1.1 protocol Orderly is served with: uvicorn's httptools parser, whose own answer
to a request it cannot parse (a NUL in a header, a malformed request line) is the API's error
envelope instead of plain text, since without a proxy in front that answer reaches clients."""

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

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
