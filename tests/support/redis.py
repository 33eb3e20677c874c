"""A real Redis server (Debian's ``redis-server``) on a free loopback port, for the tests."""

import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import redis

from tests.support.postgres import free_port


@dataclass
class RedisServer:
    """A running test server, with the controls the fault tests use."""

    url: str
    process: subprocess.Popen[bytes]
    command: list[str]

    def kill(self) -> None:
        self.process.kill()
        self.process.wait(timeout=10)

    def start(self) -> None:
        """Start it again, on the same port."""
        self.process = subprocess.Popen(self.command, stdout=subprocess.DEVNULL)
        _wait_until_up(self.url, self.process)

    def freeze(self) -> None:
        os.kill(self.process.pid, signal.SIGSTOP)  # connections stay open, nothing answers

    def thaw(self) -> None:
        os.kill(self.process.pid, signal.SIGCONT)


@contextmanager
def redis_server(folder: Path) -> Iterator[str]:
    with running_redis(folder) as server:
        yield server.url


@contextmanager
def running_redis(folder: Path) -> Iterator[RedisServer]:
    program = shutil.which("redis-server")
    if program is None:
        raise RuntimeError("redis-server is missing: run scripts/ensure-redis.sh")
    port = free_port()
    command = [
        program,
        "--port",
        str(port),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "no",
        "--dir",
        str(folder),
    ]
    server = RedisServer(
        f"redis://127.0.0.1:{port}/0", subprocess.Popen(command, stdout=subprocess.DEVNULL), command
    )
    try:
        _wait_until_up(server.url, server.process)
        yield server
    finally:
        server.thaw()
        server.process.terminate()
        server.process.wait(timeout=10)


def _wait_until_up(url: str, process: subprocess.Popen[bytes]) -> None:
    client = redis.Redis.from_url(url)
    deadline = time.monotonic() + 20
    while True:
        try:
            client.ping()
            break
        except redis.ConnectionError:
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError("redis-server did not start") from None
            time.sleep(0.05)
    client.close()
