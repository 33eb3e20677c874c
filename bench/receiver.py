"""A webhook receiver for the bench, as fast as an ASGI app gets: it answers 204 and keeps, per
delivery, its webhook-id and the time from the event's ``occurred_at`` to its arrival.

    uvicorn bench.receiver:app --port 9000     GET /stats, POST /reset
"""

import json
import time
from datetime import datetime
from typing import Any

_arrivals: list[tuple[str, float]] = []  # (webhook-id, seconds since the event occurred)


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        while (await receive())["type"] != "lifespan.shutdown":
            await send({"type": "lifespan.startup.complete"})
        await send({"type": "lifespan.shutdown.complete"})
        return
    body, more = b"", True
    while more:
        message = await receive()
        body += message.get("body", b"")
        more = message.get("more_body", False)
    answer, status = b"", 204
    if scope["method"] == "POST" and scope["path"] == "/hooks":
        arrived = time.time()
        headers = dict(scope["headers"])
        start = body.find(b'"occurred_at":"') + 15
        occurred = datetime.fromisoformat(body[start : body.index(b'"', start)].decode())
        _arrivals.append((headers[b"webhook-id"].decode(), arrived - occurred.timestamp()))
    elif scope["path"] == "/stats":
        answer, status = json.dumps(_arrivals).encode(), 200
    elif scope["path"] == "/reset":
        _arrivals.clear()
    await send({"type": "http.response.start", "status": status, "headers": []})
    await send({"type": "http.response.body", "body": answer})
