"""Token buckets in process and in a real Redis, and the limits the API applies with them."""

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from orderly.app import create_app
from orderly.core.config import get_settings
from orderly.core.ratelimit import Limiter, MemoryLimiter, Rate, RedisLimiter
from tests.conftest import Setting
from tests.support.redis import redis_server
from tests.support.server import live_server

ORDERS = "/api/v1/orders"


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with redis_server(tmp_path_factory.mktemp("redis")) as url:
        yield url


@pytest.fixture(params=["memory", "redis"])
def limiter(request: pytest.FixtureRequest) -> Limiter:
    if request.param == "memory":
        return MemoryLimiter()
    return RedisLimiter(request.getfixturevalue("redis_url"), prefix=f"test:{time.time_ns()}:")


class TestRate:
    @pytest.mark.parametrize(
        ("text", "count", "period"),
        [
            ("100/minute", 100, 60),
            ("5/second", 5, 1),
            (" 7 / hours ", 7, 3600),
            ("1/day", 1, 86400),
        ],
    )
    def test_parses(self, text: str, count: int, period: int) -> None:
        assert Rate.parse(text) == Rate(count, period)

    @pytest.mark.parametrize("text", ["0/minute", "ten/minute", "5/week", "5", ""])
    def test_refuses(self, text: str) -> None:
        with pytest.raises(ValueError, match="Not a rate"):
            Rate.parse(text)


class TestBucket:
    def test_a_burst_of_the_limit_then_refusals_with_a_wait(self, limiter: Limiter) -> None:
        async def run() -> None:
            rate = Rate(5, 10)
            decisions = [await limiter.hit("k", rate) for _ in range(7)]
            assert [d.allowed for d in decisions] == [True] * 5 + [False] * 2
            assert [d.remaining for d in decisions[:5]] == [4, 3, 2, 1, 0]
            assert 1.5 < decisions[5].retry_after <= 2.0  # one token back every 2 seconds
            assert decisions[0].headers()["X-RateLimit-Limit"] == "5"

        asyncio.run(run())

    def test_tokens_come_back_at_the_rate(self, limiter: Limiter) -> None:
        async def run() -> None:
            rate = Rate(2, 2)  # a token back each second: three hits take far less on any machine
            assert (await limiter.hit("k", rate)).allowed
            assert (await limiter.hit("k", rate)).allowed
            assert not (await limiter.hit("k", rate)).allowed
            await asyncio.sleep(1.1)
            assert (await limiter.hit("k", rate)).allowed

        asyncio.run(run())

    def test_peek_takes_nothing_and_keys_are_apart(self, limiter: Limiter) -> None:
        async def run() -> None:
            rate = Rate(1, 60)
            for _ in range(3):
                assert (await limiter.peek("k", rate)).allowed
            assert (await limiter.hit("k", rate)).allowed
            assert not (await limiter.peek("k", rate)).allowed
            assert (await limiter.hit("other", rate)).allowed

        asyncio.run(run())

    def test_two_redis_limiters_share_one_bucket(self, redis_url: str) -> None:
        """As two worker processes (or nodes) would."""

        async def run() -> None:
            prefix = f"shared:{time.time_ns()}:"
            first, second = RedisLimiter(redis_url, prefix), RedisLimiter(redis_url, prefix)
            rate = Rate(3, 60)
            allowed = [
                (await (first if i % 2 else second).hit("k", rate)).allowed for i in range(5)
            ]
            assert allowed == [True, True, True, False, False]
            await first.close()
            await second.close()

        asyncio.run(run())


def _wrong_tokens(base_url: str, n: int) -> list[httpx.Response]:
    with httpx.Client(base_url=base_url, headers={"Authorization": "Bearer oly_wrong"}) as client:
        return [client.get(ORDERS) for _ in range(n)]


class TestFailedAuthentication:
    @pytest.fixture(autouse=True)
    def slow_refill(self, setting: Setting) -> None:
        # The default 20/minute gives a token back every 3 s: a loaded machine sending the
        # test's requests slower than that would see one come back.
        setting("ORDERLY_AUTH_FAILURE_LIMIT", "20/day")

    def test_wrong_tokens_from_one_address_get_429_after_the_limit(
        self, base_url: str, api: httpx.Client
    ) -> None:
        limit = Rate.parse(get_settings().auth_failure_limit).count
        answers = _wrong_tokens(base_url, limit + 5)
        statuses = [a.status_code for a in answers]
        assert statuses == [401] * limit + [429] * 5
        refused = answers[-1]
        assert int(refused.headers["Retry-After"]) >= 1
        assert refused.json()["code"] == 429
        assert api.get(ORDERS).status_code == 200  # a known token is not held up

    def test_workers_sharing_redis_share_the_count(
        self, database_url: str, redis_url: str, api: httpx.Client
    ) -> None:
        limit = Rate.parse(get_settings().auth_failure_limit).count
        apps: list[FastAPI] = [create_app(database_url), create_app(database_url)]
        prefix = f"workers:{time.time_ns()}:"
        for app in apps:
            app.state.limiter = RedisLimiter(redis_url, prefix)
        with (
            live_server(database_url, apps[0]) as first,
            live_server(database_url, apps[1]) as second,
        ):
            half = limit // 2
            statuses = [a.status_code for a in _wrong_tokens(first, half)]
            statuses += [a.status_code for a in _wrong_tokens(second, limit - half + 2)]
        assert statuses == [401] * limit + [429] * 2


class TestPerTokenLimit:
    @pytest.fixture
    def five_per_minute(self, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
        monkeypatch.setenv("ORDERLY_RATE_LIMIT", "5/minute")
        get_settings.cache_clear()
        yield
        monkeypatch.delenv("ORDERLY_RATE_LIMIT")
        get_settings.cache_clear()

    def test_answers_count_down_then_429(
        self, api: httpx.Client, other_api: httpx.Client, five_per_minute: None
    ) -> None:
        answers = [api.get(ORDERS) for _ in range(6)]
        assert [a.status_code for a in answers] == [200] * 5 + [429]
        assert [a.headers["X-RateLimit-Remaining"] for a in answers] == [
            "4",
            "3",
            "2",
            "1",
            "0",
            "0",
        ]
        assert answers[0].headers["X-RateLimit-Limit"] == "5"
        assert int(answers[-1].headers["Retry-After"]) >= 1
        assert other_api.get(ORDERS).status_code == 200  # another token, another bucket

    def test_without_a_setting_no_headers(self, api: httpx.Client) -> None:
        assert "X-RateLimit-Limit" not in api.get(ORDERS).headers


def test_settings_refuse_a_bad_rate(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("ORDERLY_RATE_LIMIT", "lots")
    get_settings.cache_clear()
    try:
        with pytest.raises(ValueError, match="Not a rate"):
            get_settings()
    finally:
        monkeypatch.delenv("ORDERLY_RATE_LIMIT")
        get_settings.cache_clear()
