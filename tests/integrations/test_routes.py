"""Connections: create, list, get, delete; the secret shown once; tenancy."""

import httpx
import pytest

from tests.integrations.conftest import SECRET, Connect, Deliver, fixture_bytes, orders_of, sign


class TestCreate:
    def test_answers_201_with_webhook_url_and_secret(self, api: httpx.Client) -> None:
        response = api.post("/api/v1/integrations", json={"platform": "salla", "name": "Main"})

        assert response.status_code == 201, response.text
        body = response.json()
        assert set(body) == {"id", "platform", "name", "webhook_url", "created", "secret"}
        assert body["platform"] == "salla"
        assert body["name"] == "Main"
        assert body["webhook_url"] == f"{api.base_url}/api/v1/webhooks/salla/{body['id']}"
        assert len(body["secret"]) >= 32

    def test_keeps_a_given_secret(self, connect: Connect) -> None:
        assert connect("shopify", secret=SECRET)["secret"] == SECRET

    def test_name_defaults_to_the_platform(self, connect: Connect) -> None:
        assert connect("zid")["name"] == "zid"

    @pytest.mark.parametrize(
        "body",
        [
            {},
            {"platform": "amazon"},
            {"platform": "salla", "secret": "short"},
            {"platform": "salla", "extra": 1},
            {"platform": "salla", "name": "x" * 256},
            [],
        ],
    )
    def test_refuses_bad_bodies(self, body: object, api: httpx.Client) -> None:
        response = api.post("/api/v1/integrations", json=body)

        assert response.status_code == 422
        assert response.json()["error"] == "Validation failed"

    def test_needs_a_token(self, anonymous: httpx.Client) -> None:
        assert anonymous.post("/api/v1/integrations", json={"platform": "zid"}).status_code == 401


class TestRead:
    def test_secret_is_never_shown_again(self, api: httpx.Client, connect: Connect) -> None:
        created = connect("woocommerce")

        one = api.get(f"/api/v1/integrations/{created['id']}").json()
        listed = api.get("/api/v1/integrations").json()

        assert "secret" not in one
        assert listed["count"] == 1
        assert "secret" not in listed["data"][0]
        assert SECRET not in str(one) + str(listed)
        assert {k: one[k] for k in one} == {k: created[k] for k in one}

    def test_unknown_is_404(self, api: httpx.Client) -> None:
        response = api.get("/api/v1/integrations/con_nope")

        assert response.status_code == 404
        assert response.json()["error"] == "Integration not found"


class TestDelete:
    def test_removes_the_connection_and_stops_its_webhook(
        self, api: httpx.Client, connect: Connect, deliver: Deliver
    ) -> None:
        connection = connect("shopify")
        deliver(connection, fixture_bytes("shopify/orders-create.json"))

        assert api.delete(f"/api/v1/integrations/{connection['id']}").status_code == 204

        assert api.get(f"/api/v1/integrations/{connection['id']}").status_code == 404
        assert deliver(connection, fixture_bytes("shopify/orders-create.json")).status_code == 404
        assert len(orders_of(api)) == 1  # its orders stay
        assert api.delete(f"/api/v1/integrations/{connection['id']}").status_code == 404


class TestTenancy:
    def test_other_organization_sees_nothing(
        self, api: httpx.Client, other_api: httpx.Client, connect: Connect, deliver: Deliver
    ) -> None:
        connection = connect("zid")
        deliver(connection, fixture_bytes("zid/order.api-detail-response.json"))
        base = f"/api/v1/integrations/{connection['id']}"

        assert other_api.get("/api/v1/integrations").json()["data"] == []
        assert other_api.get(base).status_code == 404
        assert other_api.get(f"{base}/deliveries").status_code == 404
        assert other_api.delete(base).status_code == 404
        assert orders_of(other_api) == []
        assert len(orders_of(api)) == 1

    def test_webhook_writes_only_into_its_own_organization(
        self, api: httpx.Client, other_api: httpx.Client, connect: Connect, deliver: Deliver
    ) -> None:
        theirs = other_api.post(
            "/api/v1/integrations", json={"platform": "salla", "secret": SECRET}
        ).json()
        body = fixture_bytes("salla/order.created.json")

        deliver(theirs, body)
        deliver(connect("salla"), body)

        [mine] = orders_of(api)
        [their_order] = orders_of(other_api)
        assert mine["id"] != their_order["id"]
        assert mine["external_id"] == their_order["external_id"] == "2116149737"

    def test_connection_id_with_another_organizations_key_is_404(
        self, other_api: httpx.Client, connect: Connect, anonymous: httpx.Client
    ) -> None:
        mine = connect("salla")
        theirs = other_api.post(
            "/api/v1/integrations", json={"platform": "salla", "secret": SECRET}
        ).json()
        # Their organization key with my connection's random part names no connection.
        forged_id = theirs["id"].rsplit("_", 1)[0] + "_" + mine["id"].rsplit("_", 1)[1]
        body = fixture_bytes("salla/order.created.json")

        response = anonymous.post(
            f"/api/v1/webhooks/salla/{forged_id}", content=body, headers=sign("salla", body)
        )

        assert response.status_code == 404
        assert orders_of(other_api) == []


class TestWebhookUrlIsNeverTheClients:
    """Without ORDERLY_PUBLIC_URL, the URL a merchant pastes into their platform is built
    only from a host this service is known by, and forwarded headers only from proxies."""

    def test_an_unknown_host_gets_a_path_only(self, api: httpx.Client) -> None:
        created = api.post(
            "/api/v1/integrations", json={"platform": "salla"}, headers={"Host": "evil.example"}
        ).json()
        assert created["webhook_url"] == f"/api/v1/webhooks/salla/{created['id']}"
        listed = api.get("/api/v1/integrations", headers={"Host": "evil.example"}).json()
        assert "evil.example" not in str(listed)

    def test_forwarded_headers_from_a_client_are_ignored(self, api: httpx.Client) -> None:
        created = api.post(
            "/api/v1/integrations",
            json={"platform": "salla"},
            headers={"X-Forwarded-Proto": "https", "X-Forwarded-Host": "evil.example"},
        ).json()
        assert created["webhook_url"].startswith(f"{api.base_url}/api/v1/webhooks/salla/")
