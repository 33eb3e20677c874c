"""The ``orderly`` command, run as a real process against a real database file."""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.support.postgres import free_port


def orderly(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "orderly.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def worker_processes(parent: int) -> list[int]:
    """The ids of the server's live worker processes: children of ``parent`` started by
    multiprocessing's ``spawn_main`` (from /proc)."""
    workers = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            command = (stat.parent / "cmdline").read_bytes()
        except OSError:
            continue
        if int(fields[1]) == parent and fields[0] != "Z" and b"spawn_main" in command:
            workers.append(int(stat.parent.name))
    return workers


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {**os.environ, "ORDERLY_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}"}


class TestTokens:
    def test_create_prints_the_token_alone_on_the_last_line_then_list_and_revoke(
        self, env: dict[str, str]
    ) -> None:
        created = orderly("tokens", "create", "--org", "acme", "--name", "ci", env=env)
        assert created.returncode == 0, created.stderr
        token = created.stdout.strip().splitlines()[-1]
        assert token.startswith("oly_")

        listed = orderly("tokens", "list", "--org", "acme", env=env)
        assert listed.returncode == 0
        assert "ci" in listed.stdout
        token_id = next(w for w in listed.stdout.split() if w.startswith("tok_"))

        assert orderly("tokens", "revoke", token_id, env=env).returncode == 0
        assert "20" in orderly("tokens", "list", "--org", "acme", env=env).stdout  # revoked date

    def test_list_for_an_unknown_organization_fails_clearly(self, env: dict[str, str]) -> None:
        result = orderly("tokens", "list", "--org", "nobody", env=env)
        assert result.returncode == 1
        assert "Organization not found" in result.stderr

    def test_bad_slug_is_refused(self, env: dict[str, str]) -> None:
        result = orderly("tokens", "create", "--org", "Bad Slug!", env=env)
        assert result.returncode == 1
        assert "lowercase" in result.stderr


class TestServe:
    def test_serves_the_api_with_a_minted_token(self, env: dict[str, str]) -> None:
        token = (
            orderly("tokens", "create", "--org", "acme", env=env).stdout.strip().splitlines()[-1]
        )
        port = free_port()
        server = subprocess.Popen(
            [sys.executable, "-m", "orderly.cli", "serve", "--port", str(port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            base = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and server.poll() is None:
                try:
                    if httpx.get(f"{base}/healthz").status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.05)
            response = httpx.get(
                f"{base}/api/v1/orders", headers={"Authorization": f"Bearer {token}"}
            )
            assert response.status_code == 200
            # One worker process per core by default.
            deadline = time.monotonic() + 30
            while len(workers := worker_processes(server.pid)) < (os.cpu_count() or 1):
                assert time.monotonic() < deadline, workers
                time.sleep(0.1)
            assert len(workers) == (os.cpu_count() or 1)
        finally:
            server.terminate()
            server.wait(timeout=10)

    def test_logs_json_lines_and_sums_metrics_over_its_workers(
        self, env: dict[str, str], tmp_path: Path
    ) -> None:
        token = (
            orderly("tokens", "create", "--org", "acme", env=env).stdout.strip().splitlines()[-1]
        )
        port, log = free_port(), tmp_path / "serve.log"
        settings = {**env, "ORDERLY_LOG_FORMAT": "json"}
        settings.pop("PROMETHEUS_MULTIPROC_DIR", None)  # serve makes one for its workers
        with log.open("w") as stderr:
            server = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "orderly.cli",
                    "serve",
                    "--port",
                    str(port),
                    "--workers",
                    "2",
                ],
                env=settings,
                stdout=subprocess.DEVNULL,
                stderr=stderr,
            )
        base, auth = f"http://127.0.0.1:{port}", {"Authorization": f"Bearer {token}"}
        try:
            deadline = time.monotonic() + 30
            while len(worker_processes(server.pid)) < 2:
                assert time.monotonic() < deadline
                time.sleep(0.1)
            while True:
                try:
                    httpx.get(f"{base}/healthz")
                    break
                except httpx.TransportError:
                    assert time.monotonic() < deadline
                    time.sleep(0.05)
            for i in range(20):  # new connections: the kernel spreads them over both workers
                httpx.get(f"{base}/api/v1/orders", headers={**auth, "X-Request-ID": f"r{i}"})
            scraped = httpx.get(f"{base}/metrics").text
            series = 'orderly_http_requests_total{method="GET",route="/api/v1/orders",status="200"}'
            assert f"{series} 20.0" in scraped
        finally:
            server.terminate()
            server.wait(timeout=10)
        lines = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
        listed = [line for line in lines if line.get("route") == "/api/v1/orders"]
        assert sorted(line["request_id"] for line in listed) == sorted(f"r{i}" for i in range(20))
        assert {(line["method"], line["status"], line["level"]) for line in listed} == {
            ("GET", 200, "info")
        }
