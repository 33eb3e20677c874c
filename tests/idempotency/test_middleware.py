"""Idempotency-Key: a retry answers as the first request did and never writes twice."""

import contextlib
import os
import random
import signal
import threading
import time
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from orderly.core.db import utc_now
from orderly.core.http import parse_json
from orderly.idempotency.models import IdempotentRequest
from tests.conftest import make_token
from tests.factories import order_payload
from tests.support.postgres import free_port
from tests.support.server import live_server, serve_process

ORDERS = "/api/v1/orders"


def _post(api: httpx.Client, key: str, body: bytes, path: str = ORDERS) -> httpx.Response:
    return api.post(path, content=body, headers={"Idempotency-Key": key})


def _total(api: httpx.Client) -> int:
    return int(api.get(ORDERS).json()["total_count"])


def _bulk_body(n: int) -> bytes:
    return b"[" + b",".join(order_payload(customer_name=f"Bulk {i}") for i in range(n)) + b"]"


class TestReplay:
    def test_a_retry_gets_the_first_answer_and_writes_nothing(self, api: httpx.Client) -> None:
        first = _post(api, "order-1", order_payload())
        again = _post(api, "order-1", order_payload())
        assert first.status_code == again.status_code == 201
        assert again.content == first.content
        assert again.headers["Idempotent-Replayed"] == "true"
        assert again.headers["ETag"] == first.headers["ETag"]
        assert "Idempotent-Replayed" not in first.headers
        assert _total(api) == 1

    def test_without_a_key_every_request_writes(self, api: httpx.Client) -> None:
        api.post(ORDERS, content=order_payload())
        api.post(ORDERS, content=order_payload())
        assert _total(api) == 2

    def test_keys_belong_to_their_organization(
        self, api: httpx.Client, other_api: httpx.Client
    ) -> None:
        assert _post(api, "shared", order_payload()).status_code == 201
        other = _post(other_api, "shared", order_payload())
        assert other.status_code == 201
        assert "Idempotent-Replayed" not in other.headers
        assert _total(api) == _total(other_api) == 1

    def test_every_write_endpoint_is_covered(self, api: httpx.Client) -> None:
        order_id = _post(api, "create", order_payload()).json()["id"]
        status = {"updates": [{"id": order_id, "status": "confirmed"}]}
        moved = api.patch(f"{ORDERS}/bulk/status", json=status, headers={"Idempotency-Key": "move"})
        again = api.patch(f"{ORDERS}/bulk/status", json=status, headers={"Idempotency-Key": "move"})
        assert moved.json()["data"]["succeeded"] == 1
        assert again.content == moved.content
        assert again.headers["Idempotent-Replayed"] == "true"
        connection = {"platform": "salla", "name": "Riyadh"}
        created = api.post(
            "/api/v1/integrations", json=connection, headers={"Idempotency-Key": "c"}
        )
        replayed = api.post(
            "/api/v1/integrations", json=connection, headers={"Idempotency-Key": "c"}
        )
        assert replayed.json()["id"] == created.json()["id"]
        assert len(api.get("/api/v1/integrations").json()["data"]) == 1


class TestRefusals:
    def test_the_same_key_with_another_body_is_422(self, api: httpx.Client) -> None:
        _post(api, "k", order_payload(customer_name="A"))
        other = _post(api, "k", order_payload(customer_name="B"))
        assert other.status_code == 422
        assert set(other.json()["details"]) == {"idempotency_key"}
        assert _total(api) == 1

    def test_the_same_key_on_another_endpoint_is_422(self, api: httpx.Client) -> None:
        _post(api, "k", order_payload())
        assert _post(api, "k", b"[" + order_payload() + b"]", f"{ORDERS}/bulk").status_code == 422

    @pytest.mark.parametrize("key", ["", "x" * 256, "é", "a\tb"])
    def test_a_malformed_key_is_422(self, api: httpx.Client, key: str) -> None:
        response = api.post(
            ORDERS, content=order_payload(), headers={b"Idempotency-Key": key.encode("utf-8")}
        )
        assert response.status_code == 422
        assert _total(api) == 0

    def test_a_refused_request_frees_its_key(self, api: httpx.Client) -> None:
        assert _post(api, "k", b'{"source": "api"}').status_code == 422
        assert _post(api, "k", order_payload()).status_code == 201

    def test_a_404_is_kept_and_replayed(self, api: httpx.Client) -> None:
        first = api.delete(f"{ORDERS}/rnosuchorder00000", headers={"Idempotency-Key": "gone"})
        again = api.delete(f"{ORDERS}/rnosuchorder00000", headers={"Idempotency-Key": "gone"})
        assert first.status_code == again.status_code == 404
        assert again.headers["Idempotent-Replayed"] == "true"
        assert again.content == first.content

    def test_a_method_no_route_serves_is_405_and_claims_nothing(
        self, api: httpx.Client, db: Session
    ) -> None:
        for _ in range(2):  # the same key again: still 405, never "used with another request"
            refused = api.delete("/api/v1/integrations", headers={"Idempotency-Key": "k"})
            assert refused.status_code == 405
        assert db.scalar(select(func.count()).select_from(IdempotentRequest)) == 0
        assert _post(api, "k", order_payload()).status_code == 201

    def test_without_a_valid_token_it_is_401(self, anonymous: httpx.Client) -> None:
        assert _post(anonymous, "k", order_payload()).status_code == 401


class TestRetriesUnderLoad:
    def test_a_retry_while_the_first_runs_is_409_then_replays(
        self, api: httpx.Client, db: Session
    ) -> None:
        body = _bulk_body(1000)
        first: list[httpx.Response] = []
        thread = threading.Thread(
            target=lambda: first.append(_post(api, "b", body, f"{ORDERS}/bulk"))
        )
        thread.start()
        deadline = time.monotonic() + 30
        while not db.scalar(select(func.count()).select_from(IdempotentRequest)):
            assert time.monotonic() < deadline
            time.sleep(0.005)
            db.rollback()
        during = _post(api, "b", body, f"{ORDERS}/bulk")
        thread.join()
        after = _post(api, "b", body, f"{ORDERS}/bulk")
        assert during.status_code in (409, 200)  # 200 only if the first finished in between
        if during.status_code == 409:
            assert during.json()["code"] == 409
        assert after.content == first[0].content
        assert _total(api) == 1000

    def test_a_client_that_gives_up_and_retries_gets_one_batch(
        self, api: httpx.Client, base_url: str
    ) -> None:
        body = _bulk_body(1000)
        impatient = httpx.Client(base_url=base_url, headers=dict(api.headers), timeout=0.05)
        answer = None
        for _ in range(400):
            try:
                answer = _post(impatient, "batch", body, f"{ORDERS}/bulk")
            except httpx.TimeoutException:
                continue
            if answer.status_code == 200:
                break
            time.sleep(0.05)
        assert answer is not None
        assert answer.status_code == 200
        assert answer.json()["data"]["succeeded"] == 1000
        assert _total(api) == 1000

    def test_racing_retries_write_once(self, api: httpx.Client, base_url: str) -> None:
        statuses: list[int] = []
        barrier = threading.Barrier(8)

        def send() -> None:
            with httpx.Client(base_url=base_url, headers=dict(api.headers), timeout=30) as client:
                barrier.wait()
                statuses.append(_post(client, "race", order_payload()).status_code)

        threads = [threading.Thread(target=send) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert set(statuses) <= {201, 409}
        assert 201 in statuses
        assert _total(api) == 1


class TestAcrossProcessesAndTime:
    def test_a_second_server_on_the_same_database_replays(
        self, api: httpx.Client, database_url: str
    ) -> None:
        first = _post(api, "k", order_payload())
        with (
            live_server(database_url) as other_url,
            httpx.Client(base_url=other_url, headers=dict(api.headers)) as other,
        ):
            again = _post(other, "k", order_payload())
        assert again.headers["Idempotent-Replayed"] == "true"
        assert again.content == first.content

    def test_a_key_older_than_24_hours_is_forgotten(self, api: httpx.Client, db: Session) -> None:
        _post(api, "k", order_payload())
        db.execute(update(IdempotentRequest).values(created=utc_now() - timedelta(hours=25)))
        db.commit()
        again = _post(api, "k", order_payload())
        assert again.status_code == 201
        assert "Idempotent-Replayed" not in again.headers
        assert _total(api) == 2


class TestKilledMidRequest:
    def test_a_server_killed_between_write_and_answer_leaves_both_or_neither(
        self, database_url: str, db: Session, tmp_path: Path
    ) -> None:
        """kill -9 while a keyed bulk create runs, at a moment drawn anew each time; then the
        same request again: it is answered 200 (replayed or run now), never 409, and the
        batch is stored once."""
        token = make_token(db, "crash-keys")
        headers = {"Authorization": f"Bearer {token}"}
        rng = random.Random(11)
        for attempt in range(3):
            marker = f"attempt-{attempt}"
            body = b"[" + b",".join([order_payload(customer_name=marker)] * 300) + b"]"
            port = free_port()
            server = serve_process(database_url, port, tmp_path / "serve.log")
            base = f"http://127.0.0.1:{port}"
            sender = threading.Thread(target=_send_ignoring_death, args=(base, headers, body))
            sender.start()
            time.sleep(rng.uniform(0.05, 0.6))
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(timeout=30)
            sender.join(timeout=60)

            port = free_port()
            server = serve_process(database_url, port, tmp_path / "serve.log")
            try:
                with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=headers) as client:
                    retry = _post(client, marker, body, f"{ORDERS}/bulk")
                    assert retry.status_code == 200, retry.text
                    assert retry.json()["data"]["succeeded"] == 300
                    found = client.get(ORDERS, params={"search": marker, "limit": 1})
                    assert found.json()["total_count"] == 300
            finally:
                os.killpg(server.pid, signal.SIGTERM)
                server.wait(timeout=30)


def _send_ignoring_death(base: str, headers: dict[str, str], body: bytes) -> None:
    marker = parse_json(body)[0]["customer_name"]
    with (
        httpx.Client(base_url=base, headers=headers, timeout=30) as client,
        contextlib.suppress(httpx.TransportError),  # the server died under it
    ):
        _post(client, marker, body, f"{ORDERS}/bulk")
