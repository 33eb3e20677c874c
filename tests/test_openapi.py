"""/openapi.json tells the truth: a typed client generated from the live schema drives the API.

The client is generated with openapi-python-client (its own virtualenv, ``.venv-openapi``, made by
``make install``) into a temporary folder, never into the source tree.
"""

import importlib
import json
import subprocess
import sys
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest
from openapi_spec_validator import validate
from sqlalchemy.orm import Session

from tests.conftest import make_token

GENERATOR = Path(__file__).parent.parent / ".venv-openapi" / "bin" / "openapi-python-client"


@pytest.fixture(scope="module")
def schema(base_url: str) -> dict[str, Any]:
    response = httpx.get(f"{base_url}/openapi.json")
    assert response.status_code == 200
    return dict(response.json())


@pytest.fixture(scope="module")
def generated(
    schema: dict[str, Any], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ModuleType]:
    """The ``orderly_client`` package generated from the live schema, imported."""
    assert GENERATOR.exists(), "run `make unit` (or `make test`) first: it makes .venv-openapi"
    folder = tmp_path_factory.mktemp("client")
    (folder / "openapi.json").write_text(json.dumps(schema))
    (folder / "config.yaml").write_text(
        "post_hooks: []\nproject_name_override: orderly-client\n"
        "package_name_override: orderly_client\n"
    )
    generated = subprocess.run(
        [
            str(GENERATOR),
            "generate",
            "--path",
            "openapi.json",
            "--output-path",
            "orderly_client",
            "--meta",
            "none",
            "--config",
            "config.yaml",
        ],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert generated.returncode == 0, generated.stdout + generated.stderr
    assert "Warning" not in generated.stdout, generated.stdout  # every schema was understood
    sys.path.insert(0, str(folder))
    try:
        yield importlib.import_module("orderly_client")
    finally:
        sys.path.remove(str(folder))
        for name in [m for m in sys.modules if m.split(".")[0] == "orderly_client"]:
            del sys.modules[name]


def _api(name: str) -> Any:
    for tag in (
        "orders",
        "shipments",
        "refunds",
        "returns",
        "notes",
        "integrations",
        "health",
        "export",
    ):
        try:
            return importlib.import_module(f"orderly_client.api.{tag}.{name}")
        except ModuleNotFoundError:
            continue
    raise AssertionError(f"no operation {name}")


class TestSchema:
    def test_is_a_valid_openapi_document(self, schema: dict[str, Any]) -> None:
        validate(schema)

    def test_every_operation_describes_its_answers(self, schema: dict[str, Any]) -> None:
        for path, operations in schema["paths"].items():
            for method, operation in operations.items():
                where = f"{method.upper()} {path}"
                answers = operation["responses"]
                success = [code for code in answers if code.startswith("2")]
                assert success, where
                for code in success:
                    content = answers[code].get("content", {})
                    schemas = [media.get("schema") for media in content.values()]
                    assert code == "204" or all(schemas), where
                    assert {"type": "string"} not in schemas, where  # the old untyped answer
                errors = [code for code in answers if code[0] in "45"]
                for code in errors:
                    reference = answers[code]["content"]["application/json"]["schema"]["$ref"]
                    assert reference.endswith("/ErrorEnvelope"), where
                if path not in ("/healthz", "/readyz") and not path.startswith("/api/v1/webhooks"):
                    assert operation["security"] == [{"HTTPBearer": []}], where
                    assert "401" in errors, where
        assert "HTTPValidationError" not in schema["components"]["schemas"]

    def test_money_is_a_number_both_ways(self, schema: dict[str, Any]) -> None:
        schemas = schema["components"]["schemas"]
        assert schemas["Order"]["properties"]["total_amount"]["type"] == "number"
        assert schemas["LineItem"]["properties"]["price"]["type"] == "number"
        assert schemas["OrderCreate"]["properties"]["total_amount"]["type"] == "number"

    def test_the_examples_are_accepted_as_they_stand(
        self, schema: dict[str, Any], api: httpx.Client
    ) -> None:
        [example] = schema["components"]["schemas"]["OrderCreate"]["examples"]
        created = api.post("/api/v1/orders", json=example)
        assert created.status_code == 201, created.text
        [shown] = schema["components"]["schemas"]["Order"]["examples"]
        answered = created.json()
        for field in ("products", "subtotal", "tax", "total_amount", "customer_name", "status"):
            assert answered[field] == shown[field], field

    def test_export_lists_its_media_types(self, schema: dict[str, Any]) -> None:
        content = schema["paths"]["/api/v1/orders/export"]["get"]["responses"]["200"]["content"]
        assert set(content) == {
            "text/csv",
            "application/x-ndjson",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            "application/vnd.apache.parquet",
        }


class TestGeneratedClient:
    """The README's walk-through, through the typed client."""

    def test_walks_through_the_api_with_typed_answers(
        self, generated: ModuleType, base_url: str, db: Session
    ) -> None:
        from orderly_client import AuthenticatedClient  # type: ignore[import-not-found]
        from orderly_client.models import (  # type: ignore[import-not-found]
            BulkDeleteRequest,
            ErrorEnvelope,
            LineItemIn,
            NoteCreate,
            OrderCreate,
            OrderDetail,
            OrderList,
            OrderStatus,
            PaymentStatus,
            RecordLine,
            RefundCreate,
            Shipment,
            ShipmentCreate,
            ShipmentStatus,
            ShipmentUpdate,
            StatusUpdate,
        )

        client = AuthenticatedClient(base_url=base_url, token=make_token(db, "typed"))

        def create(**fields: Any) -> Any:
            body = OrderCreate(
                source=fields.pop("source", "salla"),
                products=[LineItemIn(quantity=2, price=22.5, name="قهوة")],
                total_amount=45.0,
                currency="SAR",
                **fields,
            )
            return _api("create_order").sync(client=client, body=body)

        first = create(customer_name="أحمد علي")
        assert isinstance(first, OrderDetail)
        assert first.total_amount == 45.0
        assert first.products[0].total == 45.0
        assert first.status == OrderStatus.PENDING
        create(source="zid", customer_name="Sara")

        listed = _api("list_orders").sync(client=client, source="salla", search="أحمد")
        assert isinstance(listed, OrderList)
        assert [order.id for order in listed.data] == [first.id]
        assert listed.total_count == 1
        assert listed.has_next is False

        changed = _api("change_status").sync(
            order_id=first.id,
            client=client,
            body=StatusUpdate(status=OrderStatus.CONFIRMED, payment_status=PaymentStatus.PAID),
        )
        assert isinstance(changed, OrderDetail)
        assert (changed.status, changed.payment_status) == ("confirmed", "paid")

        shown = _api("get_order").sync(order_id=first.id, client=client)
        assert [(c.field, c.from_, c.to) for c in shown.status_history][-2:] == [
            ("status", "pending", "confirmed"),
            ("payment_status", "pending", "paid"),
        ]

        parcel = _api("create_shipment").sync(
            order_id=first.id,
            client=client,
            body=ShipmentCreate(
                lines=[RecordLine(line=1, quantity=2)], carrier="aramex", tracking_number="AX9"
            ),
        )
        assert isinstance(parcel, Shipment)
        assert parcel.status == ShipmentStatus.SHIPPED
        delivered = _api("update_shipment").sync(
            shipment_id=parcel.id,
            client=client,
            body=ShipmentUpdate(status=ShipmentStatus.DELIVERED),
        )
        assert delivered.status == ShipmentStatus.DELIVERED
        refund = _api("create_refund").sync(
            order_id=first.id, client=client, body=RefundCreate(amount=22.5, reason="Damaged")
        )
        assert refund.amount == 22.5
        _api("add_note").sync(order_id=first.id, client=client, body=NoteCreate(text="Called"))
        carried = _api("get_order").sync(order_id=first.id, client=client)
        assert (carried.status, carried.fulfillment_status) == ("delivered", "fulfilled")
        assert (carried.payment_status, carried.net_amount) == ("partially_refunded", 22.5)
        assert carried.products[0].fulfilled_quantity == 2
        assert [entry.type_ for entry in carried.timeline][-1] == "note_added"

        bulk = _api("bulk_create").sync(
            client=client,
            body=[
                OrderCreate(
                    source="api",
                    products=[LineItemIn(quantity=1, price=10)],
                    total_amount=10,
                    currency="SAR",
                )
            ],
        )
        assert bulk.success is True
        assert bulk.data.succeeded == 1
        deleted = _api("bulk_delete").sync(
            client=client, body=BulkDeleteRequest(ids=list(bulk.data.ids.to_dict().values()))
        )
        assert deleted.data.succeeded == 1

        missing = _api("get_order").sync_detailed(order_id="rnosuchorder00000", client=client)
        assert missing.status_code == 404
        assert isinstance(missing.parsed, ErrorEnvelope)
        assert (missing.parsed.code, missing.parsed.error) == (404, "Order not found")

        refused = _api("list_orders").sync_detailed(
            client=AuthenticatedClient(base_url=base_url, token="oly_nope")
        )
        assert refused.status_code == 401
        assert isinstance(refused.parsed, ErrorEnvelope)

        assert Decimal(str(first.total_amount)) == Decimal("45.00")


class TestDocsOffline:
    @pytest.mark.parametrize("page", ["/docs", "/redoc"])
    def test_pages_load_every_asset_from_orderly_itself(self, base_url: str, page: str) -> None:
        html = httpx.get(f"{base_url}{page}").text
        assets = [part.split('"')[0] for part in html.split('src="')[1:]]
        assets += [part.split('"')[0] for part in html.split('href="')[1:]]
        assert assets
        for asset in assets:
            assert asset.startswith("/"), asset  # nothing from another host
            assert httpx.get(f"{base_url}{asset}").status_code == 200, asset

    def test_swagger_ui_offers_bearer_authorization(self, base_url: str) -> None:
        script = httpx.get(f"{base_url}/docs-assets/swagger-ui-bundle.js")
        assert script.status_code == 200
        assert len(script.content) > 500_000
        schema = httpx.get(f"{base_url}/openapi.json").json()
        assert schema["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
