"""The ``orderly`` command, run as a real process against a real database file."""

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import pytest

from tests.support.postgres import free_port


def orderly(
    *args: str, env: dict[str, str], cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "orderly.cli", *args],
        env=env,
        cwd=cwd,
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

    def test_list_piped_or_as_json_shows_whole_ids(self, env: dict[str, str]) -> None:
        for name in ("a-rather-long-token-name-for-a-narrow-screen", "second"):
            orderly("tokens", "create", "--org", "acme", "--name", name, env=env)
        piped = orderly("tokens", "list", "--org", "acme", env=env).stdout.splitlines()
        rows = [line.split("\t") for line in piped]
        assert [row[1] for row in rows] == [
            "a-rather-long-token-name-for-a-narrow-screen",
            "second",
        ]
        assert all(row[0].startswith("tok_") and len(row) == 4 for row in rows)
        listed = json.loads(orderly("tokens", "list", "--org", "acme", "--json", env=env).stdout)
        assert [token["id"] for token in listed] == [row[0] for row in rows]
        assert set(listed[0]) == {"id", "name", "created", "revoked"}

    def test_integrations_list_as_json(self, env: dict[str, str]) -> None:
        orderly("tokens", "create", "--org", "acme", env=env)  # makes the organization
        orderly("integrations", "add", "--org", "acme", "--platform", "zid", env=env)
        [connection] = json.loads(
            orderly("integrations", "list", "--org", "acme", "--json", env=env).stdout
        )
        assert connection["platform"] == "zid"
        assert connection["webhook_url"].endswith(f"/api/v1/webhooks/zid/{connection['id']}")


class TestErrors:
    def test_an_unwritable_export_path_is_one_line_and_status_1(self, env: dict[str, str]) -> None:
        orderly("tokens", "create", "--org", "acme", env=env)
        result = orderly(
            "export", "--org", "acme", "--format", "csv", "-o", "/no/such/dir/x.csv", env=env
        )
        assert result.returncode == 1
        assert "Traceback" not in result.stderr
        assert result.stderr.strip().splitlines() == [
            "No such file or directory: /no/such/dir/x.csv"
        ]

    def test_an_unreachable_database_is_one_line_and_status_1(self, env: dict[str, str]) -> None:
        unreachable = {**env, "ORDERLY_DATABASE_URL": f"postgresql://x:y@127.0.0.1:{free_port()}/z"}
        result = orderly("tokens", "list", "--org", "acme", env=unreachable)
        assert result.returncode == 1
        assert "Traceback" not in result.stderr
        assert result.stderr.startswith("Cannot use the database:")

    def test_a_command_that_would_make_a_new_database_file_says_where(self, tmp_path: Path) -> None:
        environment = {k: v for k, v in os.environ.items() if k != "ORDERLY_DATABASE_URL"}
        elsewhere = tmp_path / "elsewhere"
        elsewhere.mkdir()
        result = orderly("tokens", "create", "--org", "acme", env=environment, cwd=elsewhere)
        assert result.returncode == 0, result.stderr
        assert f"Creating a new database at {elsewhere / 'orderly.db'}" in result.stderr
        again = orderly("tokens", "list", "--org", "acme", env=environment, cwd=elsewhere)
        assert "Creating a new database" not in again.stderr


class TestVersion:
    def test_prints_the_version(self, env: dict[str, str]) -> None:
        from orderly import __version__

        result = orderly("--version", env=env)
        assert (result.returncode, result.stdout) == (0, f"orderly {__version__}\n")


def wait_for_health(base: str, server: subprocess.Popen[bytes], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while True:
        assert server.poll() is None, "serve exited"
        assert time.monotonic() < deadline, "no answer on /healthz"
        try:
            if httpx.get(f"{base}/healthz").status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.1)


class TestServeFailures:
    def test_a_port_in_use_is_one_line_naming_it(self, env: dict[str, str], tmp_path: Path) -> None:
        with socket.socket() as taken:
            taken.bind(("127.0.0.1", 0))
            taken.listen()
            port = taken.getsockname()[1]
            result = orderly("serve", "--port", str(port), env=env)
        assert result.returncode == 1
        assert f"127.0.0.1:{port}" in result.stderr
        assert "--port" in result.stderr
        assert "Traceback" not in result.stderr
        assert not (tmp_path / "cli.db").exists()  # refused before anything was made

    @pytest.mark.parametrize(
        ("url", "said"),
        [
            ("nonsense", "Not a database URL"),
            ("mysql://db/orders", "Orderly runs on SQLite or PostgreSQL"),
        ],
    )
    def test_a_database_url_it_cannot_use_is_one_line(self, url: str, said: str) -> None:
        result = orderly("migrate", env={**os.environ, "ORDERLY_DATABASE_URL": url})
        assert result.returncode == 1
        assert result.stderr.startswith(f"ORDERLY_DATABASE_URL: {said}"), result.stderr
        assert len(result.stderr.strip().splitlines()) == 1

    def test_help_shows_no_type_for_flags(self, env: dict[str, str]) -> None:
        shown = orderly("export", "--help", env={**env, "COLUMNS": "200"}).stdout
        assert "--bom" in shown
        assert "<bool>" not in shown

    def test_survives_workers_that_start_slowly(self, env: dict[str, str], tmp_path: Path) -> None:
        """Workers whose start takes 7 s (a loaded machine): uvicorn's own 5 s health check
        killed such workers in a loop; serve's default waits 30 s."""
        slow = tmp_path / "slow"
        slow.mkdir()
        (slow / "sitecustomize.py").write_text(
            "import sys, time\n"
            "if '--multiprocessing-fork' in sys.argv:  # uvicorn's spawned workers only\n"
            "    time.sleep(7)\n"
        )
        settings = {**env, "PYTHONPATH": f"{slow}{os.pathsep}{env.get('PYTHONPATH', '')}"}
        settings.pop("PROMETHEUS_MULTIPROC_DIR", None)
        port, log = free_port(), tmp_path / "serve.log"
        with log.open("w") as stderr:
            server = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "orderly.cli",
                    "serve",
                    "--workers",
                    "2",
                    "--port",
                    f"{port}",
                ],
                env=settings,
                stdout=subprocess.DEVNULL,
                stderr=stderr,
            )
        try:
            wait_for_health(f"http://127.0.0.1:{port}", server, 60)
            time.sleep(1)
        finally:
            server.terminate()
            server.wait(timeout=30)
        said = log.read_text()
        assert "died" not in said, said
        assert said.count("Started server process") == 2, said  # no worker was replaced

    def test_its_metrics_folder_goes_when_it_stops(self, env: dict[str, str]) -> None:
        settings = {k: v for k, v in env.items() if k != "PROMETHEUS_MULTIPROC_DIR"}
        port = free_port()
        server = subprocess.Popen(
            [sys.executable, "-m", "orderly.cli", "serve", "--port", str(port), "--workers", "1"],
            env=settings,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            wait_for_health(f"http://127.0.0.1:{port}", server, 60)
            mine = list(Path(tempfile.gettempdir()).glob(f"orderly-metrics-{server.pid}-*"))
            assert len(mine) == 1
        finally:
            server.terminate()
            server.wait(timeout=30)
        assert not mine[0].exists()


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
