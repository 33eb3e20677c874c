"""A real webhook receiver on 127.0.0.1: records what it is sent and answers as told.

``behave`` decides each answer from the request (its ``webhook-id``, its count so far):
``Answer(status)``, ``Answer(delay=…)`` to answer slowly, ``Answer(close=True)`` to drop the
connection without answering, ``Answer(status=302, location=…)`` to redirect.
"""

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Answer:
    status: int = 200
    delay: float = 0
    close: bool = False
    location: str | None = None
    body: bytes = b"ok"


@dataclass(frozen=True)
class Received:
    headers: dict[str, str]
    body: bytes
    at: float

    @property
    def event(self) -> dict[str, Any]:
        return dict(json.loads(self.body))


@dataclass
class Receiver:
    url: str
    behave: Callable[["Receiver", dict[str, str]], Answer] = lambda receiver, headers: Answer()
    received: list[Received] = field(default_factory=list)  # answered 2xx
    failed: list[dict[str, str]] = field(default_factory=list)  # headers of the others
    requests: int = 0  # every request that arrived, counted before it is answered
    lock: threading.Lock = field(default_factory=threading.Lock)

    def events(self) -> list[dict[str, Any]]:
        with self.lock:
            return [r.event for r in self.received]

    def wait_for(self, count: int, timeout: float = 30) -> list[dict[str, Any]]:
        """The events received once there are at least ``count`` (fails after ``timeout``)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            events = self.events()
            if len(events) >= count:
                return events
            time.sleep(0.02)
        raise AssertionError(f"Received {len(self.events())} of {count} events: {self.events()}")

    def wait_for_ids(self, wanted: set[str], timeout: float = 60) -> None:
        """Until every one of these webhook-ids has been received (repeats do not count)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                seen = {r.headers["webhook-id"] for r in self.received}
            if wanted <= seen:
                return
            time.sleep(0.05)
        raise AssertionError(f"Never received {sorted(wanted - seen)}")


@contextmanager
def receiver(
    behave: Callable[[Receiver, dict[str, str]], Answer] | None = None,
) -> Iterator[Receiver]:
    state: Receiver

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            length = int(self.headers.get("content-length", 0))
            body = self.rfile.read(length)
            if len(body) < length:  # the sender went away mid-request (killed)
                self.close_connection = True
                return
            headers = {k.lower(): v for k, v in self.headers.items()}
            with state.lock:
                state.requests += 1
            answer = state.behave(state, headers)
            if answer.delay:
                time.sleep(answer.delay)
            if answer.close:
                with state.lock:
                    state.failed.append(headers)
                self.close_connection = True
                self.connection.close()
                return
            with state.lock:
                if 200 <= answer.status < 300:
                    state.received.append(Received(headers, body, time.monotonic()))
                else:
                    state.failed.append(headers)
            content = b"" if answer.status in (204, 304) else answer.body  # none, by HTTP
            try:
                self.send_response(answer.status)
                if answer.location:
                    self.send_header("location", answer.location)
                self.send_header("content-length", str(len(content)))
                # One request per connection: a stopped receiver leaves no kept-alive socket
                # that the next test's sends could reach.
                self.send_header("connection", "close")
                self.end_headers()
                self.wfile.write(content)
                self.close_connection = True
            except OSError:
                self.close_connection = True  # the sender gave up waiting (a slow answer)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    state = Receiver(url=f"http://127.0.0.1:{server.server_port}/hooks")
    if behave is not None:
        state.behave = behave
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
