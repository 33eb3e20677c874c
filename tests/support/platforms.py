"""The four platforms' order APIs as small HTTP servers on 127.0.0.1, for the sync tests.

Each follows its platform's documentation (docs/integrations.md, "Simulated platform APIs",
names the pages): its list endpoint with its filters, pagination and auth headers, its
rate-limit headers and 429s, and the endpoints push back calls. Orders are the published
samples we keep as fixtures, cloned with new ids and times. ``faults`` answers the next
requests with a 429, a 500 or a truncated body; every request is logged.
"""

import base64
import copy
import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

FIXTURES = Path(__file__).parent.parent / "fixtures" / "integrations"
TOKEN = "platform-token-" + "t" * 24
# Where a store's history starts: two years ago.
HISTORY_START = datetime.now(UTC) - timedelta(days=730)


def _fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


@dataclass(frozen=True)
class Logged:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def form(self) -> dict[str, str]:
        return {k: v[0] for k, v in parse_qs(self.body.decode()).items()}


@dataclass
class PlatformServer:
    platform: str
    url: str = ""
    orders: list[dict[str, Any]] = field(default_factory=list)
    log: list[Logged] = field(default_factory=list)
    # The next requests' faults, in order: "429", "429-long" (Retry-After: 3600), "500",
    # "truncated", "401"; "" for none.
    faults: list[str] = field(default_factory=list)
    refuse: bool = False  # every write is answered 400 (a change the platform will not take)
    # Requests this says yes to are answered 500 (a platform down from some page on).
    failing: Callable[[Logged], bool] | None = None
    bucket: int = 0  # Shopify's leaky bucket, in calls
    lock: threading.Lock = field(default_factory=threading.Lock)
    clock: datetime = HISTORY_START
    _texts: dict[Any, str] = field(default_factory=dict)

    # ---- the store's orders ----------------------------------------------------------------

    def add_orders(self, count: int, *, history: bool = False) -> list[dict[str, Any]]:
        """New orders, created now (or, with ``history``, spread over the last two years)."""
        with self.lock:
            first = len(self.orders) + 1
            made = [
                self._clone(n, HISTORY_START + timedelta(hours=n) if history else None)
                for n in range(first, first + count)
            ]
            self.orders.extend(made)
            self._with_orders("__orders__", made)  # their text, ready before they are asked for
            return made

    def tick(self, ago: timedelta = timedelta(0)) -> datetime:
        """The platform's clock (``ago`` in the past): never the same time twice."""
        self.clock = max(self.clock + timedelta(milliseconds=1), datetime.now(UTC) - ago)
        return self.clock

    def touch(self, order: dict[str, Any], **changes: Any) -> None:
        """Change an order on the platform, as its merchant would (its update time moves)."""
        with self.lock:
            order.update(changes)
            self._stamp(order, self.tick())

    def _clone(self, n: int, created: datetime | None) -> dict[str, Any]:
        # Made ten minutes ago: a poll's overlap (two minutes) reads again only what changes
        # after they were made.
        changed = self.tick(ago=timedelta(minutes=10))
        at = created or changed
        if self.platform == "shopify":
            order = copy.deepcopy(_fixture("shopify/orders-create.json"))
            order.update(id=5_000_000 + n, name=f"#{1000 + n}", order_number=1000 + n)
            order.update(cancelled_at=None, cancel_reason=None, created_at=_iso(at))
        elif self.platform == "woocommerce":
            order = copy.deepcopy(_fixture("woocommerce/order.created.json"))
            order.update(id=n, number=str(n), date_created_gmt=_iso(at, zone=False))
        elif self.platform == "salla":
            order = copy.deepcopy(_fixture("salla/order.created.json")["data"])
            order.update(id=7_000_000 + n, reference_id=40_000_000 + n)
            order["date"] = {"date": at.strftime("%Y-%m-%d %H:%M:%S.000000"), "timezone": "UTC"}
        else:
            order = copy.deepcopy(_fixture("zid/order.api-detail-response.json")["order"])
            order.update(id=30_000_000 + n, code=f"Z{n:08d}")
            order["created_at"] = at.strftime("%Y-%m-%d %H:%M:%S")
        self._stamp(order, changed)
        return dict(order)

    def _stamp(self, order: dict[str, Any], at: datetime) -> None:
        if self.platform == "shopify":
            order["updated_at"] = _iso(at)
        elif self.platform == "woocommerce":
            order["date_modified_gmt"] = _iso(at, zone=False)
            order["date_modified"] = _iso(at, zone=False)
        elif self.platform == "zid":
            order["updated_at"] = at.strftime("%Y-%m-%d %H:%M:%S")
        order["_changed"] = at  # Salla's filter is by creation; the others' by this

    def find(self, external_id: str) -> dict[str, Any]:
        return next(o for o in self.orders if str(o["id"]) == str(external_id))

    def external_id(self, order: dict[str, Any]) -> str:
        return str(order["id"])

    # ---- answering -------------------------------------------------------------------------

    def requests_to(self, method: str, fragment: str) -> list[Logged]:
        with self.lock:
            return [r for r in self.log if r.method == method and fragment in r.path]

    def answer(self, request: Logged) -> tuple[int, dict[str, str], bytes]:
        with self.lock:
            self.log.append(request)
            fault = self.faults.pop(0) if self.faults else None
            if self.failing is not None and self.failing(request):
                fault = "500"
            if fault in ("429", "429-long"):
                wait = "0.05" if fault == "429" else "3600"
                return 429, {"Retry-After": wait}, b'{"errors":"Exceeded 2 calls per second"}'
            if fault == "500":
                return 500, {}, b'{"errors":"Internal Server Error"}'
            if self.refuse and request.method != "GET":
                return 400, {}, b'{"message":"This order cannot be changed"}'
            if fault == "401" or not self._authorized(request.headers):
                return 401, {}, b'{"errors":"[API] Invalid API key or access token"}'
            status, headers, body = getattr(self, f"_{self.platform}")(request)
            if fault == "truncated":
                body = body[: len(body) // 2]
            return status, headers, body

    def _authorized(self, headers: dict[str, str]) -> bool:
        if self.platform == "shopify":
            return headers.get("x-shopify-access-token") == TOKEN
        if self.platform == "woocommerce":
            expected = base64.b64encode(f"ck_{TOKEN}:cs_{TOKEN}".encode()).decode()
            return headers.get("authorization") == f"Basic {expected}"
        if self.platform == "salla":
            return headers.get("authorization") == f"Bearer {TOKEN}"
        return (
            headers.get("authorization") == f"Bearer partner-{TOKEN}"
            and headers.get("x-manager-token") == TOKEN
        )

    def _shown(self, orders: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [{k: v for k, v in o.items() if k != "_changed"} for o in orders]

    def _with_orders(self, body: Any, orders: list[dict[str, Any]]) -> bytes:
        """``body`` (its ``"__orders__"`` the list) as JSON, each order's text written once
        per state and kept: a large page costs the server little, not the measured service."""
        texts = []
        for order in orders:
            key = (order.get("id"), order["_changed"], str(order.get("status")))
            text = self._texts.get(key)
            if text is None:
                text = self._texts[key] = json.dumps(self._shown([order])[0])
            texts.append(text)
        return json.dumps(body).replace('"__orders__"', "[" + ",".join(texts) + "]").encode()

    def _shopify(self, request: Logged) -> tuple[int, dict[str, str], bytes]:
        # Leaky bucket of 40 calls leaking 2 a second; the test's pace keeps it far from full
        # unless ``bucket`` is set near it.
        self.bucket = max(0, self.bucket) + 1
        headers = {"X-Shopify-Shop-Api-Call-Limit": f"{min(self.bucket, 40)}/40"}
        path, query = request.path, request.query
        if request.method == "GET" and path.endswith("/orders.json"):
            if "page_info" in query:
                if set(query) - {"page_info", "limit"}:
                    return 400, headers, b'{"errors":{"page_info":"Invalid value."}}'
                since, offset = query["page_info"].split("~")
                since_time, start = datetime.fromtimestamp(float(since), UTC), int(offset)
            else:
                if query.get("status") != "any":
                    return 400, headers, b'{"errors":"status=any expected by these tests"}'
                since_time = datetime.fromisoformat(query["updated_at_min"].replace("Z", "+00:00"))
                start = 0
            limit = min(int(query.get("limit", "50")), 250)
            matching = sorted(
                (o for o in self.orders if o["_changed"] >= since_time),
                key=lambda o: (o["_changed"], str(o.get("id"))),
            )
            page = matching[start : start + limit]
            if start + limit < len(matching):
                token = f"{since_time.timestamp()}~{start + limit}"
                next_url = f"{self.url}/admin/api/2024-01/orders.json?limit={limit}"
                headers["Link"] = f'<{next_url}&page_info={token}>; rel="next"'
            return 200, headers, self._with_orders({"orders": "__orders__"}, page)
        if request.method == "GET" and path.endswith("/fulfillment_orders.json"):
            order_id = path.split("/")[-2]
            body = {
                "fulfillment_orders": [
                    {"id": int(order_id) + 1, "order_id": int(order_id), "status": "open"}
                ]
            }
            return 200, headers, json.dumps(body).encode()
        if request.method == "POST" and path.endswith("/fulfillments.json"):
            return (
                201,
                headers,
                json.dumps({"fulfillment": {"id": 1, "status": "success"}}).encode(),
            )
        if request.method == "POST" and path.endswith("/cancel.json"):
            order = self.find(path.split("/")[-2])
            self._stamp(order, self.tick())
            order["cancelled_at"] = _iso(self.clock)
            return 200, headers, json.dumps({"order": self._shown([order])[0]}).encode()
        return 404, headers, b'{"errors":"Not Found"}'

    def _woocommerce(self, request: Logged) -> tuple[int, dict[str, str], bytes]:
        path, query = request.path, request.query
        base = "/wp-json/wc/v3/orders"
        if request.method == "GET" and path == base:
            since = datetime.fromisoformat(query["modified_after"]).replace(tzinfo=UTC)
            per_page = int(query.get("per_page", "10"))
            if per_page > 100:
                message = b"per_page must be between 1 (inclusive) and 100 (inclusive)"
                return 400, {}, b'{"code":"rest_invalid_param","message":"' + message + b'"}'
            page = int(query.get("page", "1"))
            matching = sorted(
                (o for o in self.orders if o["_changed"] > since), key=lambda o: o["id"]
            )
            shown = matching[(page - 1) * per_page : page * per_page]
            pages = max(1, -(-len(matching) // per_page))
            headers = {"X-WP-Total": str(len(matching)), "X-WP-TotalPages": str(pages)}
            return 200, headers, self._with_orders("__orders__", shown)
        parts = path[len(base) :].strip("/").split("/")
        order = self.find(parts[0])
        if request.method == "PUT" and len(parts) == 1:
            order["status"] = request.json["status"]
            self._stamp(order, self.tick())
            return 200, {}, json.dumps(self._shown([order])[0]).encode()
        if request.method == "POST" and parts[1:] == ["notes"]:
            return 201, {}, json.dumps({"id": 1, **request.json}).encode()
        if request.method == "POST" and parts[1:] == ["refunds"]:
            return 201, {}, json.dumps({"id": 1, **request.json}).encode()
        return 404, {}, b'{"code":"rest_no_route"}'

    def _salla(self, request: Logged) -> tuple[int, dict[str, str], bytes]:
        path, query = request.path, request.query
        headers = {"X-RateLimit-Limit": "120", "X-RateLimit-Remaining": "119"}
        if request.method == "GET" and path == "/admin/v2/orders":
            day = datetime.strptime(query["from_date"], "%d-%m-%Y").replace(tzinfo=UTC)
            per_page = min(int(query.get("per_page", "15")), 60)
            page = int(query.get("page", "1"))
            matching = sorted(
                (o for o in self.orders if _salla_created(o) >= day), key=lambda o: -o["id"]
            )
            shown = matching[(page - 1) * per_page : page * per_page]
            pages = max(1, -(-len(matching) // per_page))
            body = {
                "status": 200,
                "success": True,
                "data": "__orders__",
                "pagination": {
                    "count": len(shown),
                    "total": len(matching),
                    "perPage": per_page,
                    "currentPage": page,
                    "totalPages": pages,
                    "links": {},
                },
            }
            return 200, headers, self._with_orders(body, shown)
        if request.method == "POST" and path.endswith("/status"):
            order = self.find(path.split("/")[-2])
            order["status"] = {**order["status"], "slug": request.json["slug"]}
            return 201, headers, b'{"status":201,"success":true,"data":{"message":"updated"}}'
        return 404, headers, b'{"status":404,"success":false}'

    def _zid(self, request: Logged) -> tuple[int, dict[str, str], bytes]:
        path, query = request.path, request.query
        base = "/v1/managers/store/orders"
        if request.method == "GET" and path == base:
            if query.get("date_attribute") != "updated_at":
                return 400, {}, b'{"status":"error","message":"date_attribute expected"}'
            since = datetime.strptime(query["date_from"], "%Y-%m-%dT%H:%M:%S.000+0000").replace(
                tzinfo=UTC
            )
            per_page = min(int(query.get("per_page", "10")), 100)
            page = int(query.get("page", "1"))
            matching = sorted(
                (o for o in self.orders if o["_changed"] >= since), key=lambda o: o["id"]
            )
            shown = matching[(page - 1) * per_page : page * per_page]
            body = {
                "status": "object",
                "orders": "__orders__",
                "total_order_count": len(matching),
            }
            return 200, {}, self._with_orders(body, shown)
        if request.method == "POST" and path.endswith("/change-order-status"):
            order = self.find(path.split("/")[-2])
            order["order_status"] = {
                "name": request.form["order_status"],
                "code": request.form["order_status"],
            }
            self._stamp(order, self.tick())
            return 200, {}, b'{"status":"object","message":{"name":"order updated"}}'
        return 404, {}, b'{"status":"error"}'


def _salla_created(order: dict[str, Any]) -> datetime:
    return datetime.strptime(order["date"]["date"][:10], "%Y-%m-%d").replace(tzinfo=UTC)


def _iso(at: datetime, *, zone: bool = True) -> str:
    text = at.strftime("%Y-%m-%dT%H:%M:%S")
    return text + "Z" if zone else text


def credentials(server: PlatformServer, **extra: Any) -> dict[str, Any]:
    """The body of ``PUT …/credentials`` that this server takes."""
    if server.platform == "shopify":
        fields = {"shop_domain": "acme.myshopify.com", "access_token": TOKEN}
        base = f"{server.url}/admin/api/2024-01"
    elif server.platform == "woocommerce":
        fields = {
            "store_url": "https://shop.example.com",
            "consumer_key": f"ck_{TOKEN}",
            "consumer_secret": f"cs_{TOKEN}",
        }
        base = server.url
    elif server.platform == "salla":
        fields, base = {"access_token": TOKEN}, f"{server.url}/admin/v2"
    else:
        fields = {"manager_token": TOKEN, "authorization": f"partner-{TOKEN}"}
        base = f"{server.url}/v1"
    return {**fields, "api_base_url": base, **extra}


@contextmanager
def platform_server(platform: str) -> Iterator[PlatformServer]:
    server = PlatformServer(platform)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _handle(self) -> None:
            parts = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            logged = Logged(
                method=self.command,
                path=parts.path,
                query={k: v[0] for k, v in parse_qs(parts.query).items()},
                headers={k.lower(): v for k, v in self.headers.items()},
                body=self.rfile.read(length) if length else b"",
            )
            status, headers, body = server.answer(logged)
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Date", format_datetime(datetime.now(UTC), usegmt=True))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = do_PUT = _handle  # noqa: N815 (http.server's names)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.url = f"http://127.0.0.1:{http.server_address[1]}"
    thread = threading.Thread(target=http.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        http.shutdown()
        http.server_close()
