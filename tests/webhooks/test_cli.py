"""``orderly webhooks list|test``, run as real processes on the test database."""

import json
import os

import httpx

from tests.support.receiver import Answer, receiver
from tests.test_cli import orderly


def test_list_and_test_an_endpoint(database_url: str, api: httpx.Client) -> None:
    env = {**os.environ, "ORDERLY_DATABASE_URL": database_url}
    with receiver(lambda r, h: Answer(200, body=b"pong")) as hook:
        made = api.post("/api/v1/webhook-endpoints", json={"url": hook.url}).json()
        [listed] = json.loads(
            orderly("webhooks", "list", "--org", "acme", "--json", env=env).stdout
        )
        assert listed["id"] == made["id"]
        assert listed["enabled"] == "yes"
        assert "secret" not in listed
        tried = orderly("webhooks", "test", made["id"], "--org", "acme", env=env)
        assert tried.returncode == 0, tried.stderr
        assert ": 200 in " in tried.stdout
        assert "pong" in tried.stdout
        assert [r.event["type"] for r in hook.received] == ["webhook.test"]
    down = orderly("webhooks", "test", made["id"], "--org", "acme", env=env)
    assert down.returncode == 1
    assert "Could not connect" in down.stderr
    unknown = orderly("webhooks", "test", "whe_nothing", "--org", "acme", env=env)
    assert unknown.returncode == 1
    assert "not found" in unknown.stderr
