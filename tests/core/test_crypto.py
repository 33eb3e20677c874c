"""Webhook secrets at rest: sealed under keys kept outside the database, and rotated."""

import os
import stat
from pathlib import Path

import httpx
import pytest
from alembic import command
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from orderly.core import crypto
from orderly.core.db import alembic_config, get_engine, migrate
from orderly.integrations.models import ConnectionRow
from tests.test_cli import orderly


def _key_file_env(env: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in env.items() if k != "ORDERLY_SECRET_KEY"}


def _add(platform: str, env: dict[str, str]) -> dict[str, str]:
    """``orderly integrations add`` for a new organization; what it printed."""
    assert orderly("tokens", "create", "--org", "acme", env=env).returncode == 0
    added = orderly("integrations", "add", "--org", "acme", "--platform", platform, env=env)
    assert added.returncode == 0, added.stderr
    return dict(line.split(": ", 1) for line in added.stdout.splitlines())


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {**os.environ, "ORDERLY_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}"}


class TestSealedSecrets:
    def test_the_database_holds_ciphertext_only(self, api: httpx.Client, db: Session) -> None:
        created = api.post("/api/v1/integrations", json={"platform": "salla", "secret": "s" * 40})
        stored = db.scalars(select(ConnectionRow.secret)).one()
        assert stored.startswith(crypto.SEALED)
        assert "s" * 40 not in stored
        assert created.json()["secret"] == "s" * 40

    def test_a_box_opens_what_it_sealed_and_refuses_other_keys(self) -> None:
        first = crypto.SecretBox(lambda: [crypto.new_key().encode()])
        sealed = first.seal("secret")
        assert first.open(sealed) == "secret"
        other = crypto.SecretBox(lambda: [crypto.new_key().encode()])
        with pytest.raises(crypto.SecretKeyError, match="No secret key opens"):
            other.open(sealed)

    def test_a_malformed_key_is_a_clear_error(self) -> None:
        with pytest.raises(crypto.SecretKeyError, match="not a Fernet key"):
            crypto.SecretBox(lambda: [b"short"])


class TestKeyFile:
    def test_first_run_makes_an_owner_only_key_file_beside_the_database(
        self, env: dict[str, str], tmp_path: Path
    ) -> None:
        env = _key_file_env(env)
        printed = _add("salla", env)
        key_file = tmp_path / "cli.db.key"
        assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
        assert key_file.read_text().strip() not in str(printed)

    def test_rotate_makes_a_new_key_and_every_secret_still_opens(
        self, env: dict[str, str], tmp_path: Path
    ) -> None:
        env = _key_file_env(env)
        secret = _add("zid", env)["secret"]
        key_file = tmp_path / "cli.db.key"
        old_key = key_file.read_text().strip()
        rotated = orderly("secrets", "rotate", env=env)
        assert rotated.returncode == 0, rotated.stderr
        new_key = key_file.read_text().strip()
        assert new_key != old_key
        assert "\n" not in new_key  # the old key is retired
        url = env["ORDERLY_DATABASE_URL"]
        with Session(get_engine(url)) as session:
            stored = session.scalars(select(ConnectionRow.secret)).one()
        box = crypto.SecretBox(lambda: [new_key.encode()])
        assert box.open(stored) == secret

    def test_rotate_with_keys_from_the_setting_reseals_under_the_first(
        self, env: dict[str, str]
    ) -> None:
        old, new = crypto.new_key(), crypto.new_key()
        _add("salla", {**env, "ORDERLY_SECRET_KEY": old})
        rotated = orderly("secrets", "rotate", env={**env, "ORDERLY_SECRET_KEY": f"{new},{old}"})
        assert rotated.returncode == 0, rotated.stderr
        with Session(get_engine(env["ORDERLY_DATABASE_URL"])) as session:
            stored = session.scalars(select(ConnectionRow.secret)).one()
        crypto.SecretBox(lambda: [new.encode()]).open(stored)  # opens without the old key

    def test_new_key_prints_a_usable_key(self, env: dict[str, str]) -> None:
        key = orderly("secrets", "new-key", env=env).stdout.strip()
        crypto.SecretBox(lambda: [key.encode()])


def test_the_migration_seals_secrets_stored_in_clear(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    command.upgrade(alembic_config(url), "0006")
    with get_engine(url).begin() as connection:
        connection.execute(
            text(
                "INSERT INTO organizations (id, slug, name, default_country, created)"
                " VALUES ('org_a', 'a', 'a', 'SA', '2026-01-01 00:00:00')"
            )
        )
        connection.execute(
            text(
                "INSERT INTO integrations (organization_id, id, platform, name, secret, created)"
                " VALUES ('org_a', 'con_a', 'salla', 'a', 'in-clear', '2026-01-01 00:00:00')"
            )
        )
    migrate(url)
    with get_engine(url).connect() as connection:
        stored = connection.execute(text("SELECT secret FROM integrations")).scalar_one()
    assert stored.startswith(crypto.SEALED)
    assert crypto.secret_box(url).open(stored) == "in-clear"
