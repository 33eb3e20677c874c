"""A throwaway PostgreSQL server on loopback, started from the machine's own server programs.

PostgreSQL refuses to run as root, so under root (as on CI) the server runs as an
unprivileged system user created for the purpose.
"""

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

SERVER_USER = "orderly-test"


def find_pg_bin() -> Path:
    on_path = shutil.which("pg_ctl")
    if on_path:
        return Path(on_path).resolve().parent
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), reverse=True)
    if candidates:
        return Path(candidates[0]).parent
    raise RuntimeError(
        "PostgreSQL server programs not found: run scripts/ensure-postgres.sh "
        "(apt-get install postgresql)"
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _as_server_user() -> list[str]:
    if os.geteuid() != 0:
        return []
    try:
        pwd.getpwnam(SERVER_USER)
    except KeyError:
        subprocess.run(
            [
                "useradd",
                "--system",
                "--no-create-home",
                "--shell",
                "/usr/sbin/nologin",
                SERVER_USER,
            ],
            check=True,
        )
    return ["runuser", "-u", SERVER_USER, "--"]


def _run(args: list[str]) -> None:
    subprocess.run(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=True)


@dataclass
class PostgresServer:
    """A running test server, with the controls the fault tests use (restart, stop, start)."""

    url: str
    pg_ctl: list[str]
    options: str
    log: Path

    def restart(self) -> None:
        """``pg_ctl restart -m fast``: open connections are ended, the server comes back."""
        _run([*self.pg_ctl, "-o", self.options, "-l", str(self.log), "-m", "fast", "-w", "restart"])

    def stop(self) -> None:
        _run([*self.pg_ctl, "-m", "fast", "-w", "stop"])

    def start(self) -> None:
        _run([*self.pg_ctl, "-o", self.options, "-l", str(self.log), "-w", "start"])


@contextmanager
def postgres_server() -> Iterator[str]:
    """Yield a URL for a fresh, empty database on a new server; stop and remove it afterwards."""
    with running_postgres() as server:
        yield server.url


@contextmanager
def running_postgres() -> Iterator[PostgresServer]:
    """A fresh server with an empty database ``orderly``, stopped and removed afterwards."""
    pg_bin = find_pg_bin()
    prefix = _as_server_user()
    workdir = Path(tempfile.mkdtemp(prefix="orderly-pg-"))
    data, sockets = workdir / "data", workdir / "sock"
    sockets.mkdir()
    if prefix:
        shutil.chown(workdir, SERVER_USER)
        shutil.chown(sockets, SERVER_USER)
    port = free_port()
    initdb = [str(pg_bin / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust"]
    _run([*prefix, *initdb, "-E", "UTF8", "--locale=C.UTF-8"])
    # Durability settings off: a test server's data is thrown away anyway.
    options = (
        f"-p {port} -k {sockets} -c listen_addresses=127.0.0.1 -c fsync=off "
        "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
    )
    pg_ctl = [*prefix, str(pg_bin / "pg_ctl"), "-D", str(data)]
    server = PostgresServer(
        url=f"postgresql://postgres@127.0.0.1:{port}/orderly",
        pg_ctl=pg_ctl,
        options=options,
        log=workdir / "server.log",
    )
    server.start()
    try:
        address = ["-h", "127.0.0.1", "-p", str(port), "-U", "postgres"]
        _run([str(pg_bin / "createdb"), *address, "orderly"])
        yield server
    finally:
        subprocess.run([*pg_ctl, "-m", "immediate", "stop"], capture_output=True, check=False)
        shutil.rmtree(workdir, ignore_errors=True)
