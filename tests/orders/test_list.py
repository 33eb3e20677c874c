"""GET /orders: filters, search, dates, sort and pagination."""

from decimal import Decimal

import httpx
import pytest

from orderly.core.http import dump_json
from tests.conftest import MakeOrder
from tests.factories import order_fields, order_payload

ORDERS = "/api/v1/orders"


def ids(response: httpx.Response) -> list[str]:
    assert response.status_code == 200, response.text
    return [order["id"] for order in response.json()["data"]]


class TestEnvelope:
    def test_has_the_contracts_shape_and_defaults(
        self, api: httpx.Client, make_order: MakeOrder
    ) -> None:
        make_order()
        body = api.get(ORDERS).json()
        assert set(body) == {"data", "count", "total_count", "page", "limit", "has_next", "meta"}
        assert (body["count"], body["total_count"], body["page"], body["limit"]) == (1, 1, 1, 20)
        assert body["has_next"] is False
        assert body["meta"] == {}
        assert "status_history" not in body["data"][0]
        assert body["data"][0]["products"][0]["name"] == "Panadol Extra"

    def test_empty_organization(self, api: httpx.Client) -> None:
        body = api.get(ORDERS).json()
        assert (body["data"], body["count"], body["total_count"], body["has_next"]) == (
            [],
            0,
            0,
            False,
        )


class TestPagination:
    @pytest.fixture
    def five(self, make_order: MakeOrder) -> list[str]:
        created = [make_order(created=f"2024-01-0{day}T00:00:00Z") for day in range(1, 6)]
        return [o["id"] for o in reversed(created)]  # newest first, the default sort

    def test_pages_walk_the_whole_list_once(self, api: httpx.Client, five: list[str]) -> None:
        seen = []
        for page in (1, 2, 3):
            body = api.get(ORDERS, params={"limit": 2, "page": page}).json()
            seen += [o["id"] for o in body["data"]]
            assert body["has_next"] is (page < 3)
            assert body["count"] == len(body["data"])
            assert body["total_count"] == 5
        assert seen == five

    def test_page_past_the_end_is_empty(self, api: httpx.Client, five: list[str]) -> None:
        body = api.get(ORDERS, params={"limit": 2, "page": 4}).json()
        assert (body["data"], body["count"], body["total_count"], body["has_next"]) == (
            [],
            0,
            5,
            False,
        )

    def test_exactly_full_last_page_has_no_next(self, api: httpx.Client, five: list[str]) -> None:
        assert api.get(ORDERS, params={"limit": 5}).json()["has_next"] is False

    def test_limit_100_is_allowed(self, api: httpx.Client, five: list[str]) -> None:
        assert api.get(ORDERS, params={"limit": 100}).json()["limit"] == 100

    @pytest.mark.parametrize(
        "params",
        [
            {"limit": 0},
            {"limit": 101},
            {"limit": -1},
            {"page": 0},
            {"page": -3},
            {"limit": "ten"},
            {"page": "1.5"},
            {"page": "99999999999999999999999"},
        ],
    )
    def test_out_of_range_is_422(self, api: httpx.Client, params: dict[str, str | int]) -> None:
        response = api.get(ORDERS, params=params)
        assert response.status_code == 422
        assert response.json()["error"] == "Validation failed"
        assert set(response.json()["details"]) == set(params)


class TestFilters:
    def test_by_status(self, api: httpx.Client, make_order: MakeOrder) -> None:
        delivered = make_order(status="delivered")
        make_order(status="pending")
        assert ids(api.get(ORDERS, params={"status": "delivered"})) == [delivered["id"]]

    def test_by_several_statuses(self, api: httpx.Client, make_order: MakeOrder) -> None:
        a, b = make_order(status="delivered"), make_order(status="cancelled")
        make_order(status="pending")
        assert set(ids(api.get(ORDERS, params={"status": "delivered,cancelled"}))) == {
            a["id"],
            b["id"],
        }

    def test_by_payment_status(self, api: httpx.Client, make_order: MakeOrder) -> None:
        paid = make_order(payment_status="paid")
        make_order()
        assert ids(api.get(ORDERS, params={"payment_status": "paid"})) == [paid["id"]]

    def test_by_fulfillment_status(self, api: httpx.Client, make_order: MakeOrder) -> None:
        done = make_order(fulfillment_status="fulfilled")
        make_order()
        assert ids(api.get(ORDERS, params={"fulfillment_status": "fulfilled"})) == [done["id"]]

    def test_by_source(self, api: httpx.Client, make_order: MakeOrder) -> None:
        salla = make_order(source="salla")
        make_order(source="zid")
        assert ids(api.get(ORDERS, params={"source": "salla"})) == [salla["id"]]

    def test_filters_combine(self, api: httpx.Client, make_order: MakeOrder) -> None:
        hit = make_order(source="salla", status="delivered", payment_status="paid")
        make_order(source="salla", status="delivered")
        make_order(source="zid", status="delivered", payment_status="paid")
        params = {"source": "salla", "status": "delivered", "payment_status": "paid"}
        response = api.get(ORDERS, params=params)
        assert ids(response) == [hit["id"]]
        assert response.json()["total_count"] == 1

    @pytest.mark.parametrize(
        "params",
        [
            {"status": "lost"},
            {"payment_status": "maybe"},
            {"status": "pending,lost"},
            {"fulfillment_status": "gone"},
            {"sort": "colour"},
            {"sort": "-id"},
            {"sort": "--created"},
            {"created_from": "yesterday"},
            {"created_to": "2024-13-01"},
            {"created_from": "2024-02-01", "created_to": "2024-01-01"},
        ],
    )
    def test_bad_values_are_422(self, api: httpx.Client, params: dict[str, str]) -> None:
        response = api.get(ORDERS, params=params)
        assert response.status_code == 422, response.text
        assert response.json()["code"] == 422

    def test_unknown_parameters_are_ignored(self, api: httpx.Client, make_order: MakeOrder) -> None:
        make_order()
        assert api.get(ORDERS, params={"cache_buster": "1"}).json()["total_count"] == 1


class TestDates:
    @pytest.fixture
    def january(self, make_order: MakeOrder) -> dict[str, str]:
        return {
            label: make_order(created=moment)["id"]
            for label, moment in {
                "14th_late": "2024-01-14T23:59:59Z",
                "15th_start": "2024-01-15T00:00:00Z",
                "15th_end": "2024-01-15T23:59:59.999Z",
                "16th_start": "2024-01-16T00:00:00Z",
            }.items()
        }

    def test_bare_dates_cover_whole_days(self, api: httpx.Client, january: dict[str, str]) -> None:
        found = ids(
            api.get(ORDERS, params={"created_from": "2024-01-15", "created_to": "2024-01-15"})
        )
        assert set(found) == {january["15th_start"], january["15th_end"]}

    def test_bounds_are_inclusive(self, api: httpx.Client, january: dict[str, str]) -> None:
        params = {"created_from": "2024-01-15T00:00:00Z", "created_to": "2024-01-16T00:00:00Z"}
        assert set(ids(api.get(ORDERS, params=params))) == {
            january["15th_start"],
            january["15th_end"],
            january["16th_start"],
        }

    def test_offsets_are_honoured(self, api: httpx.Client, january: dict[str, str]) -> None:
        # 03:00 at +03:00 is midnight UTC on the 15th.
        params = {"created_from": "2024-01-15T03:00:00+03:00"}
        assert january["14th_late"] not in ids(api.get(ORDERS, params=params))
        assert january["15th_start"] in ids(api.get(ORDERS, params=params))

    def test_only_one_bound(self, api: httpx.Client, january: dict[str, str]) -> None:
        assert ids(api.get(ORDERS, params={"created_to": "2024-01-14"})) == [january["14th_late"]]


class TestSearch:
    @pytest.mark.parametrize(
        ("stored", "query"),
        [
            ({"customer_name": "Ahmed Hassan"}, "hass"),
            ({"customer_name": "Ahmed Hassan"}, "AHMED"),
            ({"customer_email": "sarah@example.com"}, "SARAH@"),
            ({"customer_phone": "+966501234567"}, "501234"),
            ({"external_id": "SALLA-ORD-12345"}, "ord-123"),
            ({"external_number": "INV-778"}, "inv-778"),
            ({"customer_name": "أحمد علي"}, "احمد"),
            ({"customer_name": "إسراء"}, "اسراء"),
            ({"customer_name": "آمنة"}, "امنه"),
            ({"customer_name": "فاطمة"}, "فاطمه"),
            ({"customer_name": "مصطفى"}, "مصطفي"),
            ({"customer_name": "مُحَمَّد"}, "محمد"),
            ({"customer_name": "محـــمد"}, "محمد"),
            ({"customer_name": "احمد"}, "أحمد"),
            ({"customer_name": "Li Wei"}, "li"),
            ({"customer_name": "O'Neil"}, "o'n"),
        ],
    )
    def test_matches(
        self, api: httpx.Client, make_order: MakeOrder, stored: dict[str, str], query: str
    ) -> None:
        hit = make_order(**stored)
        make_order(
            customer_name="Someone Else",
            customer_email="x@y.com",
            customer_phone="+966551112222",
            external_id=None,
        )
        assert ids(api.get(ORDERS, params={"search": query})) == [hit["id"]]

    @pytest.mark.parametrize("query", ["%", "_", "\\", "'", "100%", "a_b"])
    def test_wildcards_are_literal(
        self, api: httpx.Client, make_order: MakeOrder, query: str
    ) -> None:
        make_order(customer_name="Plain Name")
        response = api.get(ORDERS, params={"search": query})
        assert response.status_code == 200
        assert response.json()["total_count"] == 0

    def test_percent_in_a_name_is_found(self, api: httpx.Client, make_order: MakeOrder) -> None:
        hit = make_order(customer_name="100% Cotton Ltd")
        make_order(customer_name="1000 Cotton")
        assert ids(api.get(ORDERS, params={"search": "100%"})) == [hit["id"]]

    def test_hostile_search_is_harmless(self, api: httpx.Client, make_order: MakeOrder) -> None:
        make_order()
        for query in ["'; DROP TABLE orders; --", '" OR 1=1 --', "ا" * 200, "🙂", "\u202e"]:
            assert api.get(ORDERS, params={"search": query}).status_code == 200
        assert api.get(ORDERS).json()["total_count"] == 1

    @pytest.mark.parametrize("query", ["a\x00b", "x" * 201])
    def test_unstorable_or_huge_search_is_422(self, api: httpx.Client, query: str) -> None:
        assert api.get(ORDERS, params={"search": query}).status_code == 422

    def test_search_combines_with_filters(self, api: httpx.Client, make_order: MakeOrder) -> None:
        hit = make_order(customer_name="Ahmed", status="delivered")
        make_order(customer_name="Ahmed")
        response = api.get(ORDERS, params={"search": "ahmed", "status": "delivered"})
        assert ids(response) == [hit["id"]]
        assert response.json()["total_count"] == 1


class TestSort:
    def test_default_is_newest_first(self, api: httpx.Client, make_order: MakeOrder) -> None:
        old = make_order(created="2023-01-01T00:00:00Z")
        new = make_order(created="2024-01-01T00:00:00Z")
        assert ids(api.get(ORDERS)) == [new["id"], old["id"]]

    @pytest.mark.parametrize(
        "field", ["created", "updated", "total_amount", "customer_name", "status"]
    )
    def test_each_field_both_ways_with_ties_broken_by_id(
        self, api: httpx.Client, make_order: MakeOrder, field: str
    ) -> None:
        values = [
            {
                "created": "2024-01-02T00:00:00Z",
                "total_amount": Decimal("9.99"),
                "customer_name": "Zed",
                "status": "shipped",
            },
            {
                "created": "2024-01-01T00:00:00Z",
                "total_amount": Decimal("100"),
                "customer_name": "Adam",
                "status": "confirmed",
            },
        ]
        made = [make_order(**values[i % 2]) for i in range(6)]
        ascending = ids(api.get(ORDERS, params={"sort": field}))
        descending = ids(api.get(ORDERS, params={"sort": f"-{field}"}))
        assert descending == list(reversed(ascending))
        key = {
            o["id"]: (o[field] if field != "total_amount" else Decimal(str(o[field])), o["id"])
            for o in made
        }
        assert ascending == sorted(key, key=lambda i: key[i])

    def test_total_amount_sorts_numerically(self, api: httpx.Client, make_order: MakeOrder) -> None:
        for amount in ["9.5", "100", "10.25"]:
            make_order(total_amount=Decimal(amount))
        amounts = [
            o["total_amount"]
            for o in api.get(ORDERS, params={"sort": "total_amount"}).json()["data"]
        ]
        assert amounts == [9.5, 10.25, 100]


class TestTotalCount:
    """total_count of status and source filters comes from maintained counts: keep them true."""

    def test_stays_exact_through_every_kind_of_write(
        self, api: httpx.Client, make_order: MakeOrder
    ) -> None:
        a = make_order(source="salla")
        b = make_order(source="zid", status="confirmed")
        c = make_order(source="salla", payment_status="paid")
        bulk = api.post(
            f"{ORDERS}/bulk",
            content=dump_json(
                [
                    order_fields(source="shopify"),
                    order_fields(source="shopify", status="ready"),
                    order_fields(products=[]),
                ]
            ),
        ).json()["data"]
        api.patch(
            f"{ORDERS}/{a['id']}/status", json={"status": "shipped", "payment_status": "paid"}
        )
        api.patch(
            f"{ORDERS}/bulk/status",
            json={
                "updates": [
                    {"id": b["id"], "status": "cancelled"},
                    {"id": c["id"], "status": "pending"},
                    {"id": bulk["ids"]["0"], "fulfillment_status": "fulfilled"},
                    {"id": bulk["ids"]["1"], "status": "pending"},
                ]
            },
        )
        api.put(
            f"{ORDERS}/{c['id']}", content=order_payload(source="woocommerce", status="delivered")
        )
        api.delete(f"{ORDERS}/{bulk['ids']['1']}")
        api.request("DELETE", f"{ORDERS}/bulk", json={"ids": [b["id"], "rnothere"]})

        everything = api.get(ORDERS, params={"limit": 100}).json()["data"]
        assert len(everything) == 3
        for params in [
            {},
            {"status": "shipped"},
            {"status": "delivered,pending"},
            {"payment_status": "paid"},
            {"fulfillment_status": "fulfilled"},
            {"source": "salla"},
            {"source": "woocommerce,shopify"},
            {"source": "zid"},
            {"status": "cancelled"},
            {"source": "salla", "payment_status": "paid", "status": "shipped"},
        ]:
            expected = [
                o for o in everything if all(o[k] in v.split(",") for k, v in params.items())
            ]
            body = api.get(ORDERS, params=params).json()
            assert body["total_count"] == len(expected), params
            assert body["count"] == len(expected), params


class TestCursor:
    @pytest.mark.parametrize(
        "sort",
        [
            "-created",
            "created",
            "total_amount",
            "-total_amount",
            "customer_name",
            "-customer_name",
            "status",
            "-updated",
        ],
    )
    def test_walking_by_cursor_matches_walking_by_page(
        self, api: httpx.Client, make_order: MakeOrder, sort: str
    ) -> None:
        for i in range(7):
            make_order(
                created=f"2024-01-0{1 + i % 3}T00:00:00Z",
                total_amount=Decimal(i % 2),
                customer_name=None if i % 3 == 0 else f"Name {i % 2}",
                status=["pending", "shipped"][i % 2],
            )
        by_page = ids(api.get(ORDERS, params={"sort": sort, "limit": 100}))
        by_cursor: list[str] = []
        params: dict[str, str | int] = {"sort": sort, "limit": 3}
        while True:
            body = api.get(ORDERS, params=params).json()
            by_cursor += [o["id"] for o in body["data"]]
            assert body["total_count"] == 7
            if not body["has_next"]:
                assert "next_cursor" not in body["meta"]
                break
            params["cursor"] = body["meta"]["next_cursor"]
        assert by_cursor == by_page

    def test_cursor_keeps_filters(self, api: httpx.Client, make_order: MakeOrder) -> None:
        wanted = [make_order(status="shipped")["id"] for _ in range(3)]
        make_order(status="pending")
        first = api.get(ORDERS, params={"status": "shipped", "limit": 2}).json()
        rest = api.get(
            ORDERS, params={"status": "shipped", "limit": 2, "cursor": first["meta"]["next_cursor"]}
        ).json()
        assert sorted(o["id"] for o in first["data"] + rest["data"]) == sorted(wanted)

    @pytest.mark.parametrize(
        "params",
        [
            {"cursor": "garbage"},
            {"cursor": "W10"},
            {"cursor": "bnVsbA"},
            {"cursor": "a"},  # not base64 at all
            {"cursor": "_w"},  # base64 of a byte that is no UTF-8
            {"cursor": "WyItY3JlYXRlZCIsIjIwMjQiLCJyIl0", "page": 2},
        ],
    )
    def test_bad_cursors_are_422(self, api: httpx.Client, params: dict[str, str | int]) -> None:
        response = api.get(ORDERS, params=params)
        assert response.status_code == 422
        assert "cursor" in response.json()["details"]

    @pytest.mark.parametrize("cursor", ["garbage", "a", "_w", "bnVsbA", "W10"])
    def test_a_bad_cursor_is_explained_in_the_apis_words(
        self, api: httpx.Client, cursor: str
    ) -> None:
        details = api.get(ORDERS, params={"cursor": cursor}).json()["details"]
        assert details == {"cursor": "Not a cursor this API handed out"}

    def test_a_cursor_of_another_sort_is_422(
        self, api: httpx.Client, make_order: MakeOrder
    ) -> None:
        make_order()
        make_order()
        cursor = api.get(ORDERS, params={"limit": 1}).json()["meta"]["next_cursor"]
        response = api.get(ORDERS, params={"cursor": cursor, "sort": "total_amount"})
        assert response.status_code == 422
