"""Bearer tokens: unknown, missing, malformed and revoked tokens are 401."""

import asyncio
import os
import subprocess
import sys
import time

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from orderly.auth import service as auth
from orderly.auth.models import ApiToken, Organization
from orderly.core.errors import Unauthorized
from tests.conftest import make_token

ORDERS = "/api/v1/orders"


class TestBearerTokens:
    @pytest.mark.parametrize(
        "header",
        [
            None,
            "",
            "Bearer",
            "Basic dXNlcjpwYXNz",
            "Bearer nope",
            "Bearer oly_aaaaaaaaaaaa_" + "b" * 40,
            "Token abc",
        ],
    )
    def test_missing_or_unknown_is_401_envelope(
        self, anonymous: httpx.Client, header: str | None
    ) -> None:
        headers = {"Authorization": header} if header is not None else {}
        for method, path in [
            ("GET", ORDERS),
            ("POST", ORDERS),
            ("GET", f"{ORDERS}/rx"),
            ("PATCH", f"{ORDERS}/bulk/status"),
            ("DELETE", f"{ORDERS}/bulk"),
        ]:
            response = anonymous.request(method, path, headers=headers)
            assert response.status_code == 401, (method, path, response.text)
            body = response.json()
            assert body["code"] == 401
            assert body["error"] == "Unauthorized"
            assert response.headers["www-authenticate"] == "Bearer"

    def test_a_token_revoked_by_the_cli_is_refused_within_its_cache_time(
        self, base_url: str, database_url: str, db: Session, fresh_limits: None
    ) -> None:
        token = make_token(db, "initech")
        token_id = db.scalars(
            select(ApiToken.id).where(ApiToken.token_hash == auth.hash_token(token))
        ).one()
        with httpx.Client(
            base_url=base_url, headers={"Authorization": f"Bearer {token}"}
        ) as client:
            for _ in range(20):  # known, and so cached, by the server
                assert client.get(ORDERS).status_code == 200
            revoked = subprocess.run(
                [sys.executable, "-m", "orderly.cli", "tokens", "revoke", token_id],
                env={**os.environ, "ORDERLY_DATABASE_URL": database_url},
                capture_output=True,
                text=True,
                timeout=60,
                check=False,
            )
            returned = time.monotonic()
            assert revoked.returncode == 0, revoked.stderr
            answers = []
            while (elapsed := time.monotonic() - returned) < 1.5:
                answers.append((elapsed, client.get(ORDERS).status_code))
            last_accepted = max((t for t, status in answers if status == 200), default=0.0)
            assert last_accepted < auth.TokenCache.TTL_S <= 1.0
            # Refused ever after: 401, then 429 once the wrong tokens pass the address's limit.
            assert all(status in (401, 429) for t, status in answers if t > last_accepted)

    def test_tokens_are_stored_hashed(self, db: Session) -> None:
        token = make_token(db, "hooli")
        hashes = db.scalars(select(ApiToken.token_hash)).all()
        assert token not in hashes
        assert auth.hash_token(token) in hashes

    def test_scheme_is_case_insensitive(self, base_url: str, db: Session) -> None:
        token = make_token(db, "umbrella")
        response = httpx.get(f"{base_url}{ORDERS}", headers={"Authorization": f"bearer {token}"})
        assert response.status_code == 200


class TestTokenCache:
    """The process's cache of checked tokens (its expiry is tested through a server above)."""

    def test_requests_arriving_together_share_one_lookup(self) -> None:
        cache, calls = auth.TokenCache(), []
        organization = Organization(id="org_aaaaaaaaaaaa", slug="a", default_country="SA")
        caller = auth.Caller(organization, "tok_a")

        async def look_up() -> auth.Caller:
            calls.append(1)
            await asyncio.sleep(0.05)
            return caller

        async def fifty_requests() -> list[auth.Caller]:
            return await asyncio.gather(*(cache.caller("oly_token", look_up) for _ in range(50)))

        assert asyncio.run(fifty_requests()) == [caller] * 50
        assert len(calls) == 1

    def test_a_failed_lookup_fails_every_waiter_and_is_not_kept(self) -> None:
        cache, calls = auth.TokenCache(), []

        async def refused() -> auth.Caller:
            calls.append(1)
            await asyncio.sleep(0.01)
            raise Unauthorized()

        async def ten_requests() -> list[auth.Caller | BaseException]:
            return await asyncio.gather(
                *(cache.caller("oly_bad", refused) for _ in range(10)),
                return_exceptions=True,
            )

        for round_ in (1, 2):
            assert all(isinstance(r, Unauthorized) for r in asyncio.run(ten_requests()))
            assert len(calls) == round_
