"""Request ids, the log line of each request, and /metrics."""

import json
import logging
import re
import sys
from collections.abc import Iterator

import httpx
import pytest

from orderly.core.telemetry import JSONFormatter, TextFormatter
from tests.conftest import MakeOrder, Setting

ORDERS = "/api/v1/orders"


@pytest.fixture
def access_lines() -> Iterator[list[logging.LogRecord]]:
    """The records of ``orderly.access`` written while the test runs (the test server runs in
    this process)."""
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    logger, handler = logging.getLogger("orderly.access"), Keep()
    logger.addHandler(handler)
    yield records
    logger.removeHandler(handler)


def metric(base_url: str, name: str, **labels: str) -> float:
    """One series' value in /metrics (0 when it has none yet)."""
    text = httpx.get(f"{base_url}/metrics").text
    wanted = ",".join(f'{key}="{value}"' for key, value in sorted(labels.items()))
    for line in text.splitlines():
        series, _, value = line.rpartition(" ")
        if series.startswith(name + "{"):
            found = ",".join(sorted(series[len(name) + 1 : -1].split(",")))
            if found == wanted:
                return float(value)
    return 0.0


class TestRequestId:
    def test_a_clients_id_is_echoed_and_logged(
        self, api: httpx.Client, access_lines: list[logging.LogRecord]
    ) -> None:
        response = api.get(ORDERS, headers={"X-Request-ID": "checkout-42"})
        assert response.headers["x-request-id"] == "checkout-42"
        assert [r.request_id for r in access_lines] == ["checkout-42"]  # type: ignore[attr-defined]

    @pytest.mark.parametrize("sent", [None, "", "x" * 129, "has space", "ümlaut"])
    def test_a_missing_or_unfit_id_is_replaced_by_a_fresh_one(
        self, api: httpx.Client, sent: str | None
    ) -> None:
        headers = {} if sent is None else {b"X-Request-ID": sent.encode()}
        made = api.get(ORDERS, headers=headers).headers["x-request-id"]
        assert re.fullmatch(r"[0-9a-f]{32}", made)

    def test_errors_carry_it_too(self, anonymous: httpx.Client) -> None:
        response = anonymous.get(ORDERS, headers={"X-Request-ID": "no-token"})
        assert response.status_code == 401
        assert response.headers["x-request-id"] == "no-token"


class TestAccessLog:
    def test_one_line_per_request_with_its_route_status_and_organization(
        self, api: httpx.Client, make_order: MakeOrder, access_lines: list[logging.LogRecord]
    ) -> None:
        order = make_order()
        access_lines.clear()

        api.get(f"{ORDERS}/{order['id']}")
        api.get(f"{ORDERS}/rnosuchorder00000")

        assert [(r.route, r.status, r.organization) for r in access_lines] == [  # type: ignore[attr-defined]
            (f"{ORDERS}/{{order_id}}", 200, order["organization_id"]),
            (f"{ORDERS}/{{order_id}}", 404, order["organization_id"]),
        ]
        assert all(r.duration_ms > 0 for r in access_lines)  # type: ignore[attr-defined]

    def test_lines_as_text_or_json(
        self, api: httpx.Client, access_lines: list[logging.LogRecord]
    ) -> None:
        api.get(ORDERS, headers={"X-Request-ID": "fmt-1"})
        [record] = access_lines

        text = TextFormatter("%(levelname)s %(name)s %(message)s").format(record)
        line = rf"INFO orderly\.access GET {ORDERS} 200 [\d.]+ms organization=org_\w+"
        assert re.fullmatch(line + " request_id=fmt-1", text)
        entry = json.loads(JSONFormatter().format(record))
        assert entry["logger"] == "orderly.access"
        assert (entry["method"], entry["route"], entry["status"]) == ("GET", ORDERS, 200)
        assert entry["request_id"] == "fmt-1"
        assert entry["organization"].startswith("org_")


class TestMetrics:
    def test_requests_are_counted_by_route_and_status(
        self, base_url: str, api: httpx.Client
    ) -> None:
        route = f"{ORDERS}/{{order_id}}"
        before = metric(
            base_url, "orderly_http_requests_total", method="GET", route=route, status="404"
        )
        for _ in range(3):
            api.get(f"{ORDERS}/rnosuchorder00000")
        after = metric(
            base_url, "orderly_http_requests_total", method="GET", route=route, status="404"
        )
        assert after - before == 3
        assert (
            metric(
                base_url, "orderly_http_request_duration_seconds_count", method="GET", route=route
            )
            >= 3
        )

    def test_paths_no_route_serves_share_one_series(self, base_url: str) -> None:
        httpx.get(f"{base_url}/nowhere/{'x' * 40}")
        text = httpx.get(f"{base_url}/metrics").text
        assert "x" * 40 not in text
        assert 'route="unmatched"' in text

    def test_webhooks_are_counted_by_platform_and_outcome(
        self, base_url: str, api: httpx.Client
    ) -> None:
        connection = api.post("/api/v1/integrations", json={"platform": "salla"}).json()
        before = metric(
            base_url, "orderly_webhook_deliveries_total", platform="salla", outcome="unverified"
        )
        httpx.post(f"{base_url}/api/v1/webhooks/salla/{connection['id']}", content=b"{}")
        after = metric(
            base_url, "orderly_webhook_deliveries_total", platform="salla", outcome="unverified"
        )
        assert after - before == 1


class TestMetricsToken:
    def test_with_a_token_set_only_its_bearer_scrapes(
        self, anonymous: httpx.Client, setting: Setting
    ) -> None:
        setting("ORDERLY_METRICS_TOKEN", "scraper-secret")
        assert anonymous.get("/metrics").status_code == 401
        wrong = anonymous.get("/metrics", headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401
        assert wrong.json()["code"] == 401
        right = anonymous.get("/metrics", headers={"Authorization": "Bearer scraper-secret"})
        assert right.status_code == 200
        assert "orderly_http_requests_total" in right.text

    def test_without_one_it_is_open(self, anonymous: httpx.Client) -> None:
        assert anonymous.get("/metrics").status_code == 200


class TestErrorLines:
    def test_an_error_without_an_organization_is_logged_with_its_traceback(self) -> None:
        try:
            raise RuntimeError("boom")
        except RuntimeError:
            record = logging.LogRecord(
                "orderly.core.errors", logging.ERROR, __file__, 1, "Unhandled", (), sys.exc_info()
            )
        record.request_id = "r-1"
        text = TextFormatter("%(levelname)s %(message)s").format(record)
        first, *rest = text.splitlines()
        assert first == "ERROR Unhandled request_id=r-1"
        assert "RuntimeError: boom" in rest[-1]
        entry = json.loads(JSONFormatter().format(record))
        assert entry["request_id"] == "r-1"
        assert "RuntimeError: boom" in entry["traceback"]
