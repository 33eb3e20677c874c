"""``orderly integrations credentials|sync|backfill|runs`` on a database of their own."""

import json
from pathlib import Path

from tests.support.platforms import Logged, credentials, platform_server
from tests.test_cli import env, orderly

__all__ = ["env"]


def _connect(env: dict[str, str], platform: str) -> str:
    orderly("tokens", "create", "--org", "acme", env=env)
    added = orderly("integrations", "add", "--org", "acme", "--platform", platform, env=env)
    assert added.returncode == 0, added.stderr
    printed = dict(line.split(": ", 1) for line in added.stdout.strip().splitlines())
    return printed["webhook_url"].rsplit("/", 1)[1]


def _counts(stdout: str) -> dict[str, int]:
    return {k: int(v) for k, v in (pair.split("=") for pair in stdout.split())}


def test_a_backfill_stopped_midway_goes_on_from_the_page_it_stopped_at(
    env: dict[str, str], tmp_path: Path
) -> None:
    with platform_server("woocommerce") as server:
        server.add_orders(650, history=True)
        connection = _connect(env, "woocommerce")
        fields = credentials(server)
        given = orderly(
            "integrations",
            "credentials",
            connection,
            "--api-base-url",
            fields.pop("api_base_url"),
            *(f"--set={k}={v}" for k, v in fields.items()),
            env=env,
        )
        assert given.returncode == 0, given.stderr

        def backfill_page(request: Logged) -> int:
            since = request.query.get("modified_after", "")
            return int(request.query["page"]) if since.startswith("2020") else 0

        # The platform fails every call from the backfill's fourth page on.
        server.failing = lambda request: backfill_page(request) >= 4
        stopped = orderly("integrations", "backfill", connection, "--since", "2020-01-01", env=env)
        assert stopped.returncode == 1, stopped.stderr
        assert "Stopped early" in stopped.stderr
        assert _counts(stopped.stdout)["created"] == 300

        server.failing = None
        asked_before = len(server.log)
        resumed = orderly("integrations", "backfill", connection, env=env)
        assert resumed.returncode == 0, resumed.stderr
        assert "Resuming the backfill from page 4" in resumed.stderr
        pages = [backfill_page(r) for r in server.log[asked_before:]]
        assert pages == [4, 5, 6, 7]
        assert _counts(resumed.stdout)["created"] == 350

        synced = orderly("integrations", "sync", connection, env=env)
        assert synced.returncode == 0, synced.stderr
        assert _counts(synced.stdout)["created"] == 0

        runs = orderly("integrations", "runs", connection, "--json", env=env)
        kinds = [run["kind"] for run in json.loads(runs.stdout)]
        assert kinds == ["sync", "backfill", "backfill"]


def test_credentials_are_checked_and_never_printed(env: dict[str, str]) -> None:
    connection = _connect(env, "shopify")
    missing = orderly("integrations", "credentials", connection, "--set=shop_domain=a.b", env=env)
    assert missing.returncode == 1
    assert "access_token" in missing.stderr
    secret = "shpat_" + "s" * 30
    given = orderly(
        "integrations",
        "credentials",
        connection,
        "--set=shop_domain=acme.myshopify.com",
        f"--set=access_token={secret}",
        env=env,
    )
    assert given.returncode == 0, given.stderr
    assert secret not in given.stdout + given.stderr
