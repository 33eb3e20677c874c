"""Create, get, replace and delete single orders through the HTTP API."""

from decimal import Decimal

import httpx
import pytest
from pydantic import BaseModel

from orderly.core.http import dump_json
from orderly.orders.schemas import LineItem, Order, OrderDetail, OrderList, StatusChangeOut
from tests.conftest import MakeOrder
from tests.factories import exact, order_fields, order_payload, product, unique_external_id

ORDERS = "/api/v1/orders"


def post(api: httpx.Client, **fields: object) -> httpx.Response:
    return api.post(ORDERS, content=order_payload(**fields))


class TestCreate:
    def test_returns_the_full_order_with_defaults_filled_in(self, api: httpx.Client) -> None:
        response = post(api, external_id="SALLA-1")
        assert response.status_code == 201
        order = exact(response)
        assert order["id"].startswith("r")
        assert len(order["id"]) == 17
        assert order["id"][1:].isalnum()
        assert order["id"] == order["id"].lower()
        assert order["source"] == "manual"
        assert order["status"] == "pending"
        assert order["payment_status"] == "pending"
        assert order["fulfillment_status"] == "unfulfilled"
        assert order["products"] == [
            {
                "line": 1,
                "product_id": "prd_001",
                "name": "Panadol Extra",
                "quantity": 2,
                "price": Decimal("15.50"),
                "total": Decimal("31.00"),
                "fulfilled_quantity": 0,
                "returned_quantity": 0,
            }
        ]
        assert order["subtotal"] == Decimal("31.00")
        assert (order["refunded_amount"], order["net_amount"]) == (
            Decimal("0.00"),
            Decimal("45.65"),
        )
        assert (order["shipments"], order["refunds"], order["returns"]) == ([], [], [])
        assert order["discount"] == Decimal("0.00")
        assert order["total_amount"] == Decimal("45.65")
        assert order["created"].endswith("Z")
        assert order["updated"].endswith("Z")

    def test_money_is_written_as_json_numbers_in_the_currency_precision(
        self, api: httpx.Client
    ) -> None:
        response = post(api, total_amount=Decimal("45.6"), tax=Decimal("4.65"))
        assert '"total_amount":45.60' in response.text
        assert '"delivery_fee":10.00' in response.text

    @pytest.mark.parametrize(
        ("currency", "amount", "written"),
        [("KWD", "1.234", "1.234"), ("JPY", "1500", "1500"), ("BHD", "0.5", "0.500")],
    )
    def test_each_currency_keeps_its_own_minor_unit(
        self, api: httpx.Client, currency: str, amount: str, written: str
    ) -> None:
        response = post(
            api,
            currency=currency,
            total_amount=Decimal(amount),
            tax=None,
            delivery_fee=None,
            products=[product(price=Decimal(amount), quantity=1)],
        )
        assert response.status_code == 201, response.text
        assert f'"total_amount":{written},' in response.text

    def test_large_amounts_stay_exact(self, api: httpx.Client) -> None:
        big = Decimal("98765432109876.99")
        response = post(api, total_amount=big, products=[product(price=big, quantity=1)])
        assert response.status_code == 201, response.text
        assert exact(response)["total_amount"] == big
        assert exact(api.get(f"{ORDERS}/{response.json()['id']}"))["products"][0]["total"] == big

    def test_line_total_defaults_to_quantity_times_price_and_can_be_given(
        self, api: httpx.Client
    ) -> None:
        response = post(
            api,
            products=[
                product(quantity=3, price=Decimal("0.10")),
                product(quantity=2, price=Decimal("5"), total=Decimal("9.00")),
            ],
        )
        order = exact(response)
        assert [p["total"] for p in order["products"]] == [Decimal("0.30"), Decimal("9.00")]
        assert order["subtotal"] == Decimal("9.30")

    def test_subtotal_discount_tax_fee_are_stored_as_sent(self, api: httpx.Client) -> None:
        order = exact(
            post(
                api,
                subtotal=Decimal("100"),
                discount=Decimal("5.5"),
                tax=Decimal("1"),
                delivery_fee=Decimal("0"),
            )
        )
        assert (order["subtotal"], order["discount"], order["tax"], order["delivery_fee"]) == (
            Decimal("100.00"),
            Decimal("5.50"),
            Decimal("1.00"),
            Decimal("0.00"),
        )

    def test_total_amount_is_stored_as_sent_even_when_parts_disagree(
        self, api: httpx.Client
    ) -> None:
        assert exact(post(api, total_amount=Decimal("1.00")))["total_amount"] == Decimal("1.00")

    def test_created_may_be_supplied_and_is_converted_to_utc(self, api: httpx.Client) -> None:
        order = post(api, created="2024-01-15T13:30:00+03:00").json()
        assert order["created"] == "2024-01-15T10:30:00Z"
        assert order["updated"] != order["created"]

    def test_a_created_without_offset_is_read_as_utc(self, api: httpx.Client) -> None:
        assert post(api, created="2024-01-15T10:30:00").json()["created"] == "2024-01-15T10:30:00Z"

    def test_optional_fields_may_be_null_or_omitted(self, api: httpx.Client) -> None:
        body = {
            "source": "api",
            "products": [{"quantity": 1, "price": 3}],
            "total_amount": 3,
            "currency": "SAR",
            "customer_name": None,
            "notes": None,
        }
        response = api.post(ORDERS, json=body)
        assert response.status_code == 201, response.text
        order = response.json()
        assert order["customer_name"] is None
        assert order["customer_email"] is None
        assert order["meta"] == {}

    def test_creation_starts_the_status_history(self, api: httpx.Client) -> None:
        order = post(api, status="confirmed", payment_status="paid").json()
        history = [(h["field"], h["from"], h["to"], h["source"]) for h in order["status_history"]]
        assert history == [
            ("status", None, "confirmed", "api"),
            ("payment_status", None, "paid", "api"),
            ("fulfillment_status", None, "unfulfilled", "api"),
        ]

    def test_phone_without_country_code_is_read_in_the_default_country(
        self, api: httpx.Client
    ) -> None:
        assert post(api, customer_phone="050 123 4567").json()["customer_phone"] == "+966501234567"

    def test_phone_with_country_code_is_normalised_to_e164(self, api: httpx.Client) -> None:
        phone = post(api, customer_phone="+971 50 123 4567").json()["customer_phone"]
        assert phone == "+971501234567"

    def test_currency_code_is_accepted_in_any_case(self, api: httpx.Client) -> None:
        assert post(api, currency="sar").json()["currency"] == "SAR"

    def test_meta_and_notes_are_kept(self, api: httpx.Client) -> None:
        order = post(api, meta={"channel": "instagram", "tags": ["vip"]}, notes="Ring twice").json()
        assert order["meta"] == {"channel": "instagram", "tags": ["vip"]}
        assert order["notes"] == "Ring twice"

    def test_a_fetched_order_can_be_sent_back_as_a_create_body(
        self, api: httpx.Client, make_order: MakeOrder
    ) -> None:
        fetched = make_order()
        again = api.post(ORDERS, content=api.get(f"{ORDERS}/{fetched['id']}").content)
        assert again.status_code == 201, again.text
        assert again.json()["id"] != fetched["id"]


class TestCreateValidation:
    @pytest.mark.parametrize(
        ("fields", "path", "message"),
        [
            ({"products": []}, "products", "At least one product is required"),
            ({"source": ""}, "source", ""),
            ({"currency": "XYZ"}, "currency", "ISO 4217"),
            ({"currency": "XAU"}, "currency", "priced"),
            ({"total_amount": Decimal("-1")}, "total_amount", "greater than or equal to 0"),
            ({"total_amount": "45.65"}, "total_amount", "Must be a number"),
            ({"total_amount": True}, "total_amount", "Must be a number"),
            ({"total_amount": Decimal("1e20")}, "total_amount", "less than"),
            ({"total_amount": Decimal("45.655")}, "total_amount", "at most 2 decimal places"),
            ({"tax": Decimal("0.001")}, "tax", "at most 2 decimal places"),
            ({"products": [product(quantity=0)]}, "products.0.quantity", "greater than or equal"),
            ({"products": [product(quantity=Decimal("1.5"))]}, "products.0.quantity", "integer"),
            ({"products": [product(quantity="2")]}, "products.0.quantity", "integer"),
            ({"products": [product(price=Decimal("-0.01"))]}, "products.0.price", "greater"),
            ({"products": [product(price=Decimal("1.001"))]}, "products.0.price", "decimal places"),
            (
                {"products": [product(), product(total=Decimal("1.111"))]},
                "products.1.total",
                "places",
            ),
            ({"products": [{"name": "x", "price": 1}]}, "products.0.quantity", "Field required"),
            ({"products": [product(colour="red")]}, "products.0.colour", "Extra inputs"),
            ({"customer_email": "not-an-email"}, "customer_email", "e-mail"),
            ({"customer_phone": "12"}, "customer_phone", "phone"),
            ({"customer_phone": "+966 12"}, "customer_phone", "phone"),
            ({"status": "lost"}, "status", "Input should be"),
            ({"payment_status": "maybe"}, "payment_status", "Input should be"),
            ({"created": "yesterday"}, "created", ""),
            ({"customer_nmae": "typo"}, "customer_nmae", "Extra inputs"),
            ({"meta": ["not", "an", "object"]}, "meta", "dictionary"),
        ],
    )
    def test_refuses_with_the_offending_field_named(
        self, api: httpx.Client, fields: dict[str, object], path: str, message: str
    ) -> None:
        response = post(api, **fields)
        assert response.status_code == 422, response.text
        body = response.json()
        assert body["code"] == 422
        assert body["error"] == "Validation failed"
        assert path in body["details"], body
        assert message in body["details"][path]
        assert api.get(ORDERS).json()["total_count"] == 0

    @pytest.mark.parametrize("missing", ["source", "products", "total_amount", "currency"])
    def test_required_fields(self, api: httpx.Client, missing: str) -> None:
        body = order_fields()
        del body[missing]
        response = api.post(ORDERS, content=dump_json(body))
        assert response.status_code == 422
        assert response.json()["details"][missing] == "Field required"

    def test_reports_every_bad_money_field_at_once(self, api: httpx.Client) -> None:
        details = post(api, tax=Decimal("0.001"), discount=Decimal("0.001")).json()["details"]
        assert set(details) == {"tax", "discount"}


class TestDuplicates:
    def test_same_source_and_external_id_is_409_naming_the_existing_order(
        self, api: httpx.Client, make_order: MakeOrder
    ) -> None:
        first = make_order(source="salla", external_id="SALLA-ORD-12345")
        response = post(api, source="salla", external_id="SALLA-ORD-12345")
        assert response.status_code == 409
        body = response.json()
        assert body["code"] == 409
        assert body["details"]["id"] == first["id"]
        assert api.get(ORDERS).json()["total_count"] == 1

    def test_the_same_external_id_from_another_source_is_a_different_order(
        self, make_order: MakeOrder
    ) -> None:
        make_order(source="salla", external_id="1001")
        make_order(source="zid", external_id="1001")

    def test_orders_without_external_id_never_collide(self, make_order: MakeOrder) -> None:
        make_order(external_id=None)
        make_order(external_id=None)

    def test_another_organization_may_hold_the_same_external_id(
        self, make_order: MakeOrder, other_api: httpx.Client
    ) -> None:
        make_order(source="salla", external_id="42")
        assert post(other_api, source="salla", external_id="42").status_code == 201


def declared_fields(schema: type[BaseModel]) -> list[str]:
    """The fields /openapi.json declares for an answer of ``schema``, in order."""
    return list(schema.model_json_schema(mode="serialization")["properties"])


class TestDeclaredSchemas:
    """Answers are built from plain rows; they must be exactly what /openapi.json declares."""

    def test_every_order_answer_has_the_declared_fields_in_order(
        self, api: httpx.Client, make_order: MakeOrder
    ) -> None:
        created = post(api, external_id=unique_external_id(), currency="KWD", total_amount=1)
        order_id = created.json()["id"]
        details = [
            created,
            api.get(f"{ORDERS}/{order_id}"),
            api.patch(f"{ORDERS}/{order_id}/status", json={"status": "confirmed"}),
            api.put(f"{ORDERS}/{order_id}", content=order_payload(notes="x")),
        ]
        for response in details:
            assert response.status_code < 300, response.text
            body = response.json()
            assert list(body) == declared_fields(OrderDetail)
            assert list(body["products"][0]) == declared_fields(LineItem)
            for change in body["status_history"]:
                assert list(change) == declared_fields(StatusChangeOut)
        for params in ({}, {"limit": 1}):
            page = api.get(ORDERS, params=params).json()
            assert list(page) == declared_fields(OrderList)
            for item in page["data"]:
                assert list(item) == declared_fields(Order)


class TestGet:
    def test_returns_line_items_customer_and_history(
        self, api: httpx.Client, make_order: MakeOrder
    ) -> None:
        created = make_order(external_id=unique_external_id())
        response = api.get(f"{ORDERS}/{created['id']}")
        assert response.status_code == 200
        order = response.json()
        assert order == created
        assert len(order["status_history"]) == 3

    def test_unknown_id_is_404_in_the_envelope(self, api: httpx.Client) -> None:
        response = api.get(f"{ORDERS}/nonexistent")
        assert response.status_code == 404
        assert response.json() == {
            "code": 404,
            "error": "Order not found",
            "details": {"id": "nonexistent"},
        }


class TestReplace:
    def test_replaces_content_and_resets_left_out_fields(
        self, api: httpx.Client, make_order: MakeOrder
    ) -> None:
        order = make_order(notes="fragile", discount=Decimal("1"), meta={"a": 1})
        body = {
            "source": "manual",
            "products": [{"name": "Tea", "quantity": 1, "price": 7}],
            "total_amount": 7,
            "currency": "SAR",
        }
        response = api.put(f"{ORDERS}/{order['id']}", content=dump_json(body))
        assert response.status_code == 200, response.text
        replaced = exact(response)
        assert replaced["products"] == [
            {
                "line": 1,
                "product_id": None,
                "name": "Tea",
                "quantity": 1,
                "price": Decimal("7.00"),
                "total": Decimal("7.00"),
                "fulfilled_quantity": 0,
                "returned_quantity": 0,
            }
        ]
        assert replaced["notes"] is None
        assert replaced["customer_name"] is None
        assert replaced["discount"] == Decimal("0.00")
        assert replaced["meta"] == {}
        assert replaced["id"] == order["id"]
        assert replaced["created"] == order["created"]
        assert replaced["organization_id"] == order["organization_id"]
        assert replaced["updated"] > order["updated"]
        assert exact(api.get(f"{ORDERS}/{order['id']}")) == replaced

    def test_statuses_left_out_keep_their_values(
        self, api: httpx.Client, make_order: MakeOrder
    ) -> None:
        order = make_order(status="shipped", payment_status="paid")
        response = api.put(f"{ORDERS}/{order['id']}", content=order_payload())
        assert (response.json()["status"], response.json()["payment_status"]) == ("shipped", "paid")
        assert len(response.json()["status_history"]) == 3

    def test_statuses_sent_follow_the_transition_rules(
        self, api: httpx.Client, make_order: MakeOrder
    ) -> None:
        order = make_order(status="shipped")
        refused = api.put(
            f"{ORDERS}/{order['id']}", content=order_payload(status="pending", notes="changed")
        )
        assert refused.status_code == 422
        assert refused.json()["error"] == "Invalid status transition"
        assert refused.json()["details"] == {"field": "status", "from": "shipped", "to": "pending"}
        assert api.get(f"{ORDERS}/{order['id']}").json()["notes"] is None

        allowed = api.put(f"{ORDERS}/{order['id']}", content=order_payload(status="delivered"))
        assert allowed.json()["status"] == "delivered"
        assert allowed.json()["status_history"][-1]["from"] == "shipped"

    def test_created_is_kept_unless_sent(self, api: httpx.Client, make_order: MakeOrder) -> None:
        order = make_order()
        moved = api.put(
            f"{ORDERS}/{order['id']}", content=order_payload(created="2023-05-01T00:00:00Z")
        )
        assert moved.json()["created"] == "2023-05-01T00:00:00Z"

    def test_a_fetched_order_can_be_put_back_unchanged(
        self, api: httpx.Client, make_order: MakeOrder
    ) -> None:
        order = make_order(external_id=unique_external_id(), status="confirmed")
        fetched = api.get(f"{ORDERS}/{order['id']}")
        response = api.put(f"{ORDERS}/{order['id']}", content=fetched.content)
        assert response.status_code == 200, response.text
        assert {k: v for k, v in response.json().items() if k != "updated"} == {
            k: v for k, v in fetched.json().items() if k != "updated"
        }

    def test_taking_another_orders_external_id_is_409(
        self, api: httpx.Client, make_order: MakeOrder
    ) -> None:
        make_order(external_id="A")
        second = make_order(external_id="B")
        response = api.put(f"{ORDERS}/{second['id']}", content=order_payload(external_id="A"))
        assert response.status_code == 409

    def test_validation_errors_change_nothing(
        self, api: httpx.Client, make_order: MakeOrder
    ) -> None:
        order = make_order()
        response = api.put(f"{ORDERS}/{order['id']}", content=order_payload(products=[]))
        assert response.status_code == 422
        assert api.get(f"{ORDERS}/{order['id']}").json() == order

    def test_unknown_order_is_404(self, api: httpx.Client) -> None:
        assert api.put(f"{ORDERS}/rnope", content=order_payload()).status_code == 404


class TestDelete:
    def test_deleted_order_is_gone_everywhere(
        self, api: httpx.Client, make_order: MakeOrder
    ) -> None:
        order = make_order()
        keep = make_order()
        response = api.delete(f"{ORDERS}/{order['id']}")
        assert response.status_code == 204
        assert api.get(f"{ORDERS}/{order['id']}").status_code == 404
        assert [o["id"] for o in api.get(ORDERS).json()["data"]] == [keep["id"]]
        assert api.delete(f"{ORDERS}/{order['id']}").status_code == 404
        assert (
            api.patch(f"{ORDERS}/{order['id']}/status", json={"status": "confirmed"}).status_code
            == 404
        )

    def test_its_external_id_can_be_used_again(
        self, api: httpx.Client, make_order: MakeOrder
    ) -> None:
        order = make_order(external_id="AGAIN")
        api.delete(f"{ORDERS}/{order['id']}")
        make_order(external_id="AGAIN")
