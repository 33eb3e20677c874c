"""Dependencies going away under load: Redis killed or frozen, PostgreSQL restarted or stopped.

The rule (docs/operations.md): every answer is 2xx, 401, 429 or 503 with ``Retry-After``, never
a 500 and never a hang, and nothing that was acknowledged is lost.
"""

import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from sqlalchemy.orm import Session

from orderly.app import create_app
from orderly.auth import service as auth
from orderly.core.db import get_engine, migrate, session_factory
from orderly.core.ratelimit import RedisLimiter
from tests.conftest import Setting
from tests.factories import order_payload
from tests.integrations.conftest import SECRET, fixture_bytes, sign
from tests.support.postgres import PostgresServer, running_postgres
from tests.support.receiver import receiver
from tests.support.redis import RedisServer, running_redis
from tests.support.server import live_server

ORDERS = "/api/v1/orders"
ACCEPTABLE = {200, 201, 401, 429, 503}


def assert_no_failures(answers: list[httpx.Response]) -> None:
    statuses = Counter(answer.status_code for answer in answers)
    print("answers by status:", dict(sorted(statuses.items())))  # shown with pytest -rP
    assert set(statuses) <= ACCEPTABLE, statuses
    for answer in answers:
        if answer.status_code in (429, 503):
            assert int(answer.headers["Retry-After"]) >= 1
            assert answer.json()["code"] == answer.status_code


@pytest.fixture
def redis(tmp_path: Path) -> Iterator[RedisServer]:
    with running_redis(tmp_path) as server:
        yield server


class Mix:
    """A steady mix of what a server meets: reads and writes with a good token, wrong tokens,
    a platform's signed webhook."""

    def __init__(self, base_url: str, token: str) -> None:
        self.base_url, self.token = base_url, token
        self.created: list[str] = []  # ids of the orders answered 201

    def one_round(self, client: httpx.Client) -> list[httpx.Response]:
        good = {"Authorization": f"Bearer {self.token}"}
        answers = [
            client.get(ORDERS, headers=good),
            client.post(ORDERS, content=order_payload(), headers=good),
            client.get(ORDERS, headers={"Authorization": "Bearer oly_wrong"}),
        ]
        if answers[1].status_code == 201:
            self.created.append(answers[1].json()["id"])
        return answers


def token_for(database_url: str, slug: str) -> str:
    with session_factory(database_url)() as session:
        organization = auth.get_or_create_organization(session, slug)
        secret = auth.mint_token(session, organization, "faults").secret
        session.commit()
    return secret


def connect_salla(client: httpx.Client, token: str) -> tuple[str, bytes]:
    connection = client.post(
        "/api/v1/integrations",
        json={"platform": "salla", "secret": SECRET},
        headers={"Authorization": f"Bearer {token}"},
    ).json()
    return connection["webhook_url"], fixture_bytes("salla/order.created.json")


class TestRedisAway:
    """With ``ORDERLY_REDIS_URL`` and ``ORDERLY_RATE_LIMIT`` set, Redis failing makes the limits
    each process's own for a while: no request fails for it, none waits for it."""

    @pytest.fixture
    def served(
        self, database_url: str, db: Session, redis: RedisServer, setting: Setting
    ) -> Iterator[tuple[str, str]]:
        setting("ORDERLY_REDIS_URL", redis.url)
        setting("ORDERLY_RATE_LIMIT", "100000/minute")
        app = create_app(database_url)
        app.state.limiter = RedisLimiter(redis.url, prefix=f"faults:{time.time_ns()}:", cooldown=1)
        with live_server(database_url, app) as base_url:
            yield base_url, token_for(database_url, "acme")

    def test_killed_redis_never_turns_into_500s(
        self, served: tuple[str, str], redis: RedisServer
    ) -> None:
        base_url, token = served
        mix = Mix(base_url, token)
        with httpx.Client(base_url=base_url, timeout=5) as client:
            webhook_url, body = connect_salla(client, token)
            assert_no_failures(mix.one_round(client))
            redis.kill()
            answers = []  # each within the client's 5 s timeout, or it raises: no hang
            for _ in range(5):
                answers += mix.one_round(client)
                answers.append(client.post(webhook_url, content=body, headers=sign("salla", body)))
            assert_no_failures(answers)
            assert answers[-1].json()["outcome"] in ("created", "unchanged")  # signed: taken
            health = client.get("/healthz")
            assert health.status_code == 200
            assert health.json()["checks"] == {"database": "ok", "redis": "down"}
            assert health.json()["status"] == "degraded"
            assert client.get("/readyz").status_code == 200  # still serving: limits per process
            metrics = client.get("/metrics").text
            assert "orderly_rate_limiter_fallbacks_total" in metrics

            redis.start()
            time.sleep(1.1)  # the circuit's cooldown
            assert_no_failures(mix.one_round(client))
            assert client.get("/healthz").json()["checks"]["redis"] == "ok"
            listed = client.get(ORDERS, params={"limit": 100}, headers=auth_header(token)).json()
            assert set(mix.created) <= {order["id"] for order in listed["data"]}

    def test_frozen_redis_holds_no_request(
        self, served: tuple[str, str], redis: RedisServer
    ) -> None:
        base_url, token = served
        mix = Mix(base_url, token)
        with httpx.Client(base_url=base_url, timeout=5) as client:
            assert_no_failures(mix.one_round(client))
            redis.freeze()
            try:
                answers = []  # each within the client's 5 s timeout, or it raises: no hang
                for _ in range(4):
                    answers += mix.one_round(client)
                health = client.get("/healthz")
            finally:
                redis.thaw()
        assert_no_failures(answers)
        assert health.json()["checks"]["redis"] == "down"


def auth_header(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def own_postgres() -> Iterator[PostgresServer]:
    """A PostgreSQL server of this test's own, to restart and stop."""
    with running_postgres() as server:
        migrate(server.url)
        yield server
        get_engine(server.url).dispose()


def under_load(
    base_url: str, token: str, during: Callable[[], None], workers: int = 6
) -> tuple[list[httpx.Response], list[str]]:
    """Clients sending the mix while ``during()`` runs, and a moment after; the answers and the
    ids of the orders created (answered 201)."""
    stop = threading.Event()
    mix = Mix(base_url, token)

    def client_loop() -> list[httpx.Response]:
        answers = []
        with httpx.Client(base_url=base_url, timeout=10) as client:
            while not stop.is_set():
                try:
                    answers += mix.one_round(client)
                except httpx.TimeoutException as exc:  # a hang is a failure
                    raise AssertionError(f"no answer within 10 s: {exc}") from exc
        return answers

    with ThreadPoolExecutor(workers) as pool:
        loops = [pool.submit(client_loop) for _ in range(workers)]
        time.sleep(0.5)
        during()
        time.sleep(1.5)  # recovery
        stop.set()
        answers = [answer for loop in loops for answer in loop.result()]
    return answers, mix.created


class TestPostgresAway:
    def test_a_restart_under_load_is_503_at_worst_and_loses_nothing(
        self, own_postgres: PostgresServer
    ) -> None:
        token = token_for(own_postgres.url, "acme")
        with live_server(own_postgres.url) as base_url:
            answers, created = under_load(base_url, token, own_postgres.restart)
            assert_no_failures(answers)
            statuses = Counter(answer.status_code for answer in answers)
            assert statuses[201] > 0
            with httpx.Client(base_url=base_url, headers=auth_header(token)) as client:
                for order_id in created:  # every acknowledged write is there
                    assert client.get(f"{ORDERS}/{order_id}").status_code == 200
                assert client.get("/readyz").status_code == 200

    def test_a_stopped_server_is_503_with_retry_after_and_comes_back(
        self, own_postgres: PostgresServer
    ) -> None:
        token = token_for(own_postgres.url, "acme")
        with live_server(own_postgres.url) as base_url:

            def outage() -> None:
                own_postgres.stop()
                with httpx.Client(base_url=base_url, timeout=10) as client:
                    ready, health = client.get("/readyz"), client.get("/healthz")
                    assert ready.status_code == 503
                    assert int(ready.headers["Retry-After"]) >= 1
                    assert ready.json()["details"]["database"] == "down"
                    assert health.status_code == 200
                    assert health.json()["checks"]["database"] == "down"
                    refused = client.get(ORDERS, headers=auth_header(token))
                    assert refused.status_code in (200, 503)  # a cached token may still read
                time.sleep(2)
                own_postgres.start()

            answers, created = under_load(base_url, token, outage, workers=3)
            assert_no_failures(answers)
            statuses = Counter(answer.status_code for answer in answers)
            assert statuses[503] > 0  # the outage was seen, and answered as such
            with httpx.Client(base_url=base_url, headers=auth_header(token)) as client:
                for order_id in created:
                    assert client.get(f"{ORDERS}/{order_id}").status_code == 200
                unavailable = next(a for a in answers if a.status_code == 503)
                assert unavailable.json()["error"] == "Service unavailable"
                assert client.get("/readyz").status_code == 200
                metrics = client.get("/metrics").text  # the gauge came back with the database
                assert 'orderly_dependency_up{dependency="database"} 1.0' in metrics


class TestDispatcherWithoutItsDatabase:
    def test_a_stopped_database_delays_deliveries_and_loses_none(
        self, own_postgres: PostgresServer
    ) -> None:
        token = token_for(own_postgres.url, "acme")
        with receiver() as hook, live_server(own_postgres.url) as base_url:
            client = httpx.Client(base_url=base_url, headers=auth_header(token), timeout=10)
            made = client.post("/api/v1/webhook-endpoints", json={"url": hook.url})
            assert made.status_code == 201, made.text

            def outage() -> None:
                own_postgres.stop()
                time.sleep(2)  # the dispatcher's rounds fail meanwhile, and back off
                own_postgres.start()

            answers, created = under_load(base_url, token, outage, workers=3)
            assert_no_failures(answers)
            assert created
            committed, after = [], 0
            while True:
                page = client.get("/api/v1/events", params={"after": after, "limit": 1000})
                committed += page.json()["data"]
                after = page.json()["meta"]["next_cursor"]
                if not page.json()["has_next"]:
                    break
            # Every one, repeats aside (a batch leased when the database went away is sent
            # again once its lease runs out).
            hook.wait_for_ids({event["id"] for event in committed}, timeout=90)
            client.close()
