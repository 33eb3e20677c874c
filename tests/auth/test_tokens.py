"""Bearer tokens: unknown, missing, malformed and revoked tokens are 401."""

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from orderly.auth import service as auth
from orderly.auth.models import ApiToken
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

    def test_a_valid_token_works_and_a_revoked_one_stops_working(
        self, base_url: str, db: Session
    ) -> None:
        token = make_token(db, "initech")
        with httpx.Client(
            base_url=base_url, headers={"Authorization": f"Bearer {token}"}
        ) as client:
            assert client.get(ORDERS).status_code == 200
            stored = db.scalars(
                select(ApiToken).where(ApiToken.token_hash == auth.hash_token(token))
            ).one()
            auth.revoke_token(db, stored.id)
            db.commit()
            assert client.get(ORDERS).status_code == 401

    def test_tokens_are_stored_hashed(self, db: Session) -> None:
        token = make_token(db, "hooli")
        hashes = db.scalars(select(ApiToken.token_hash)).all()
        assert token not in hashes
        assert auth.hash_token(token) in hashes

    def test_scheme_is_case_insensitive(self, base_url: str, db: Session) -> None:
        token = make_token(db, "umbrella")
        response = httpx.get(f"{base_url}{ORDERS}", headers={"Authorization": f"bearer {token}"})
        assert response.status_code == 200
