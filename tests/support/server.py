"""The real app served over real HTTP by uvicorn, in a background thread."""

import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import uvicorn
from fastapi import FastAPI

from orderly.app import create_app
from orderly.core.protocol import server_options
from tests.support.postgres import free_port


@contextmanager
def live_server(database_url: str, app: FastAPI | None = None) -> Iterator[str]:
    """The app (default: ``create_app(database_url)``) served on a free loopback port."""
    port = free_port()
    config = uvicorn.Config(
        app or create_app(database_url),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        access_log=False,
        # Longer than httpx's 5 s keep-alive: with uvicorn's default (also 5 s), a test client
        # idle for just that long could send on a connection the server was closing at that
        # instant ("Connection reset by peer", seen once in CI on a slow machine).
        timeout_keep_alive=60,
        **server_options(),
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("The test server did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def serve_process(database_url: str, port: int, log: Path) -> subprocess.Popen[bytes]:
    """``orderly serve`` with one worker in a process group of its own (to kill -9 whole),
    once it answers ``/healthz``."""
    env = {**os.environ, "ORDERLY_DATABASE_URL": database_url}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    with log.open("ab") as output:
        server = subprocess.Popen(
            [sys.executable, "-m", "orderly.cli", "serve", "--port", str(port), "--workers", "1"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=output,
            start_new_session=True,
        )
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200:
                return server
        except httpx.TransportError:
            pass
        assert server.poll() is None, log.read_text()
        assert time.monotonic() < deadline, log.read_text()
        time.sleep(0.05)
