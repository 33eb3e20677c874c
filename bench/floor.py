"""The floor: a bare FastAPI app on the same server software, answering fixed bytes.

``python -m bench`` saves the exact bytes Orderly answered for each measured request and
serves them from here (``ORDERLY_BENCH_FLOOR`` names a JSON file of "METHOD /path/prefix" →
file of bytes; the longest matching prefix answers), so the difference between the two is what
Orderly itself costs per request.
"""

import json
import os
from pathlib import Path

from fastapi import FastAPI, Request, Response


def create_app() -> FastAPI:
    table = json.loads(Path(os.environ["ORDERLY_BENCH_FLOOR"]).read_text())
    answers = sorted(
        ((key, Path(file).read_bytes()) for key, file in table.items()),
        key=lambda pair: -len(pair[0]),
    )
    app = FastAPI()

    @app.api_route("/{path:path}", methods=["GET", "POST", "PATCH"])
    async def answer(path: str, request: Request) -> Response:
        await request.body()
        wanted = f"{request.method} /{path}"
        body = next(data for key, data in answers if wanted.startswith(key))
        return Response(body, media_type="application/json")

    return app
