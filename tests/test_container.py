"""The container files say what the README says. No container engine runs on the CI machines,
so the image is not built here: its command, user, health check and settings are checked."""

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from orderly.core.config import Settings

ROOT = Path(__file__).parent.parent


def dockerfile() -> dict[str, list[str]]:
    """Instructions of the Dockerfile (continuation lines joined), by keyword."""
    joined = ROOT.joinpath("Dockerfile").read_text().replace("\\\n", " ")
    instructions: dict[str, list[str]] = {}
    for line in joined.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            keyword, _, rest = line.strip().partition(" ")
            instructions.setdefault(keyword.upper(), []).append(rest.strip())
    return instructions


def compose() -> dict[str, Any]:
    return dict(yaml.safe_load(ROOT.joinpath("compose.yaml").read_text()))


class TestImage:
    def test_runs_orderly_serve_on_every_interface_as_a_user_not_root(self) -> None:
        image = dockerfile()
        [base] = image["FROM"]
        assert base.startswith("python:3.11-slim")
        [command] = image["CMD"]
        every_interface = "0.0.0.0"  # noqa: S104 (in a container, that is the point)
        assert json.loads(command) == [
            "orderly",
            "serve",
            "--host",
            every_interface,
            "--port",
            "8000",
        ]
        [user] = image["USER"]
        assert user not in ("root", "0")
        assert "--system" in " ".join(image["RUN"])
        assert image["EXPOSE"] == ["8000"]

    def test_its_command_is_one_the_cli_accepts(self) -> None:
        [command] = dockerfile()["CMD"]
        arguments = json.loads(command)[1:]
        shown = subprocess.run(
            [sys.executable, "-m", "orderly.cli", *arguments, "--help"],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert shown.returncode == 0, shown.stderr
        assert "Run the HTTP API" in shown.stdout

    def test_checks_its_health_on_healthz(self) -> None:
        [check] = dockerfile()["HEALTHCHECK"]
        assert "http://127.0.0.1:8000/healthz" in check

    def test_keeps_its_sqlite_file_in_the_volume(self) -> None:
        image = dockerfile()
        assert image["VOLUME"] == ['["/data"]']
        assert "ORDERLY_DATABASE_URL=sqlite:////data/orderly.db" in image["ENV"]

    def test_leaves_local_state_out_of_the_build(self) -> None:
        ignored = ROOT.joinpath(".dockerignore").read_text().split()
        for path in (".venv", ".git", "*.db", "bench/results"):
            assert path in ignored


class TestCompose:
    def test_runs_orderly_on_postgresql_with_a_volume(self) -> None:
        services = compose()["services"]
        database, orderly = services["db"], services["orderly"]
        assert database["image"].startswith("postgres:")
        volume = database["volumes"][0].split(":")[0]
        assert volume in compose()["volumes"]
        environment = orderly["environment"]
        user = database["environment"]["POSTGRES_USER"]
        password = database["environment"]["POSTGRES_PASSWORD"]
        name = database["environment"]["POSTGRES_DB"]
        assert environment["ORDERLY_DATABASE_URL"] == (
            f"postgresql://{user}:{password}@db:5432/{name}"
        )
        assert orderly["depends_on"]["db"]["condition"] == "service_healthy"
        assert orderly["build"] == "."

    def test_sets_only_settings_orderly_has(self) -> None:
        known = {f"ORDERLY_{name.upper()}" for name in Settings.model_fields}
        assert set(compose()["services"]["orderly"]["environment"]) <= known


class TestSettingsFile:
    def test_env_example_names_every_setting_with_its_default(self) -> None:
        text = ROOT.joinpath(".env.example").read_text()
        for name, field in Settings.model_fields.items():
            variable = f"ORDERLY_{name.upper()}"
            assert variable in text, variable
            if field.default is not None:
                assert f"{variable}={field.default}" in text, variable

    def test_its_values_load_as_the_defaults(self, tmp_path: Path) -> None:
        lines = ROOT.joinpath(".env.example").read_text().splitlines()
        values = dict(line.split("=", 1) for line in lines if line and not line.startswith("#"))
        environment = {k: v for k, v in os.environ.items() if not k.startswith("ORDERLY_")}
        loaded = subprocess.run(
            [
                sys.executable,
                "-c",
                "from orderly.core.config import Settings; print(Settings().model_dump_json())",
            ],
            env={**environment, **values},
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        assert json.loads(loaded.stdout) == json.loads(Settings.model_construct().model_dump_json())
