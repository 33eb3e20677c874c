"""Webhook endpoints and deliveries, sent by the served app's dispatcher to real receivers on
127.0.0.1 (``tests/support/receiver.py``) that answer 2xx, 500, 410, slowly, not at all, or
with a redirect; on both engines."""

import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from standardwebhooks import Webhook

from orderly.webhooks.sender import signed_headers
from tests.conftest import MakeOrder, Setting
from tests.support.receiver import Answer, Receiver, receiver

ENDPOINTS = "/api/v1/webhook-endpoints"
ORDERS = "/api/v1/orders"


@pytest.fixture
def hooks() -> Iterator[Callable[..., Receiver]]:
    """``hooks(behave)``: a receiver, stopped after the test."""
    stack: list[Any] = []

    def start(behave: Callable[[Receiver, dict[str, str]], Answer] | None = None) -> Receiver:
        manager = receiver(behave)
        stack.append(manager)
        return manager.__enter__()

    yield start
    for manager in reversed(stack):
        manager.__exit__(None, None, None)


def add_endpoint(api: httpx.Client, url: str, **fields: Any) -> dict[str, Any]:
    response = api.post(ENDPOINTS, json={"url": url, **fields})
    assert response.status_code == 201, response.text
    return dict(response.json())


def deliveries(api: httpx.Client, endpoint_id: str, **params: Any) -> list[dict[str, Any]]:
    response = api.get(f"{ENDPOINTS}/{endpoint_id}/deliveries", params={"limit": 100, **params})
    assert response.status_code == 200, response.text
    return list(response.json()["data"])


def eventually(check: Callable[[], Any], timeout: float = 30) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        try:
            found = check()
        except AssertionError:
            if time.monotonic() > deadline:
                raise
        else:
            if found:
                return found
            if time.monotonic() > deadline:
                raise AssertionError(f"Not so after {timeout} s")
        time.sleep(0.05)


def once_disabled(api: httpx.Client, endpoint_id: str) -> dict[str, Any]:
    """The endpoint, once Orderly has disabled it."""

    def disabled() -> dict[str, Any] | None:
        shown = dict(api.get(f"{ENDPOINTS}/{endpoint_id}").json())
        return None if shown["enabled"] else shown

    return dict(eventually(disabled))


class TestSignature:
    def test_signs_as_the_specification_s_published_example(self) -> None:
        # Standard Webhooks' own test vector (its specification and every library test it).
        headers = signed_headers(
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            '{"test": 2432232314}',
            datetime.fromtimestamp(1614265330, UTC),
        )
        assert headers == {
            "webhook-id": "msg_p5jXN8AQM9LWM0D4loKWxJek",
            "webhook-timestamp": "1614265330",
            "webhook-signature": "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
        }


class TestEndpoints:
    def test_made_with_a_secret_shown_once(self, api: httpx.Client) -> None:
        made = add_endpoint(api, "https://erp.example.com/hooks", description="ERP")
        assert made["secret"].startswith("whsec_")
        assert made["events"] == ["*"]
        assert made["enabled"] is True
        assert made["health"] == {
            "attempts_24h": 0,
            "success_rate_24h": None,
            "pending": 0,
            "last_attempt_at": None,
            "last_error": None,
        }
        shown = api.get(f"{ENDPOINTS}/{made['id']}").json()
        assert "secret" not in shown
        listed = api.get(ENDPOINTS).json()
        assert [e["id"] for e in listed["data"]] == [made["id"]]
        assert all("secret" not in e for e in listed["data"])

    def test_changed_rotated_and_removed(self, api: httpx.Client) -> None:
        made = add_endpoint(api, "https://erp.example.com/hooks")
        changed = api.patch(
            f"{ENDPOINTS}/{made['id']}",
            json={"events": ["order.created"], "enabled": False, "description": "paused"},
        )
        assert changed.status_code == 200, changed.text
        assert changed.json()["events"] == ["order.created"]
        assert changed.json()["enabled"] is False
        rotated = api.post(f"{ENDPOINTS}/{made['id']}/rotate-secret")
        assert rotated.status_code == 200
        assert rotated.json()["secret"] not in (made["secret"], None)
        assert api.delete(f"{ENDPOINTS}/{made['id']}").status_code == 204
        gone = api.get(f"{ENDPOINTS}/{made['id']}")
        assert gone.status_code == 404
        assert set(gone.json()) == {"code", "error", "details"}

    @pytest.mark.parametrize(
        "body",
        [
            {"url": "ftp://erp.example.com/hooks"},
            {"url": "https://"},
            {"url": "https://user:pw@erp.example.com/"},
            {"url": "https://erp.example.com/", "events": ["order.exploded"]},
            {"url": "https://erp.example.com/", "events": []},
            {"url": "https://erp.example.com/", "unknown": 1},
            {"events": ["*"]},
        ],
    )
    def test_refuses_what_cannot_be_sent_to(self, api: httpx.Client, body: dict[str, Any]) -> None:
        response = api.post(ENDPOINTS, json=body)
        assert response.status_code == 422, response.text
        assert set(response.json()) == {"code", "error", "details"}

    @pytest.mark.parametrize(
        "url",
        ["http://127.0.0.1:9/", "http://10.1.2.3/", "http://169.254.169.254/", "http://localhost/"],
    )
    def test_refuses_private_destinations_unless_allowed(
        self, api: httpx.Client, setting: Setting, url: str
    ) -> None:
        setting("ORDERLY_OUTBOUND_ALLOW_PRIVATE", "false")
        response = api.post(ENDPOINTS, json={"url": url})
        assert response.status_code == 422, response.text
        assert "url" in response.json()["details"]

    def test_another_organization_cannot_see_or_touch_it(
        self, api: httpx.Client, other_api: httpx.Client
    ) -> None:
        made = add_endpoint(api, "https://erp.example.com/hooks")
        assert other_api.get(f"{ENDPOINTS}/{made['id']}").status_code == 404
        assert other_api.delete(f"{ENDPOINTS}/{made['id']}").status_code == 404
        assert other_api.get(ENDPOINTS).json()["data"] == []


class TestDelivery:
    def test_each_event_arrives_signed_and_in_order(
        self, api: httpx.Client, make_order: MakeOrder, hooks: Callable[..., Receiver]
    ) -> None:
        hook = hooks()
        endpoint = add_endpoint(api, hook.url)
        order = make_order()
        api.patch(f"{ORDERS}/{order['id']}/status", json={"status": "confirmed"})
        events = hook.wait_for(2)
        assert [e["type"] for e in events] == ["order.created", "order.status_changed"]
        assert events[0]["data"]["order"] == order
        for received in hook.received:
            verified = Webhook(endpoint["secret"]).verify(received.body, received.headers)
            assert verified["id"] == received.headers["webhook-id"]
        fed = api.get("/api/v1/events").json()["data"]
        assert [e["id"] for e in fed] == [e["id"] for e in events]  # the same events
        log = eventually(
            lambda: len(found := deliveries(api, endpoint["id"], state="delivered")) == 2 and found
        )
        assert log[0]["attempt_log"][0]["status_code"] == 200
        assert log[0]["attempt_log"][0]["response"] == "ok"

    def test_only_the_events_it_asked_for(
        self, api: httpx.Client, make_order: MakeOrder, hooks: Callable[..., Receiver]
    ) -> None:
        hook = hooks()
        add_endpoint(api, hook.url, events=["order.status_changed"])
        order = make_order()
        api.patch(f"{ORDERS}/{order['id']}/status", json={"status": "confirmed"})
        assert [e["type"] for e in hook.wait_for(1)] == ["order.status_changed"]
        time.sleep(0.3)
        assert len(hook.events()) == 1

    def test_a_failing_answer_is_retried_until_delivered(
        self, api: httpx.Client, make_order: MakeOrder, hooks: Callable[..., Receiver]
    ) -> None:
        hook = hooks(lambda r, h: Answer(500) if len(r.failed) < 2 else Answer(204))
        endpoint = add_endpoint(api, hook.url)
        make_order()
        hook.wait_for(1)
        (delivery,) = eventually(lambda: deliveries(api, endpoint["id"], state="delivered"))
        assert [a["status_code"] for a in delivery["attempt_log"]] == [500, 500, 204], [
            a["error"] for a in delivery["attempt_log"]
        ]
        assert delivery["attempt_log"][0]["error"] == "Answered 500 Internal Server Error"
        # The same message each time: a receiver drops a repeat by its webhook-id.
        assert {h["webhook-id"] for h in hook.failed} == {hook.received[0].headers["webhook-id"]}

    @pytest.mark.parametrize(
        ("answer", "error"),
        [
            (Answer(delay=3), "No answer within 2 s"),
            (Answer(close=True), "The connection ended without an answer"),
            (Answer(302, location="http://127.0.0.1:9/elsewhere"), "redirects are not followed"),
        ],
    )
    def test_a_receiver_that_does_not_answer_2xx_fails_the_attempt(
        self,
        api: httpx.Client,
        make_order: MakeOrder,
        hooks: Callable[..., Receiver],
        answer: Answer,
        error: str,
    ) -> None:
        hook = hooks(lambda r, h: answer if r.requests == 1 else Answer(200))
        endpoint = add_endpoint(api, hook.url)
        make_order()
        hook.wait_for(1, timeout=40)
        (delivery,) = eventually(lambda: deliveries(api, endpoint["id"], state="delivered"))
        first = delivery["attempt_log"][0]
        assert error in first["error"]
        assert delivery["attempt_log"][-1]["status_code"] == 200

    def test_an_order_s_events_wait_for_its_earlier_ones_while_others_flow(
        self, api: httpx.Client, make_order: MakeOrder, hooks: Callable[..., Receiver]
    ) -> None:
        stuck: dict[str, Any] = {}

        def behave(r: Receiver, headers: dict[str, str]) -> Answer:
            # Nothing is taken until the test names the event to hold up; that one then fails
            # three times more, and everything else is taken.
            if "id" not in stuck:
                return Answer(503)
            if headers["webhook-id"] == stuck["id"] and stuck["refused"] < 3:
                stuck["refused"] += 1
                return Answer(503)
            return Answer(200)

        hook = hooks(behave)
        add_endpoint(api, hook.url)
        first = make_order()
        api.patch(f"{ORDERS}/{first['id']}/status", json={"status": "confirmed"})
        created = api.get("/api/v1/events", params={"type": "order.created"}).json()["data"]
        stuck.update(id=created[0]["id"], refused=0)
        second = make_order()
        events = hook.wait_for(3)
        of_first = [e["type"] for e in events if e["order_id"] == first["id"]]
        assert of_first == ["order.created", "order.status_changed"]
        assert events[0]["order_id"] == second["id"]  # not held up by the other order

    def test_410_gone_disables_the_endpoint(
        self, api: httpx.Client, make_order: MakeOrder, hooks: Callable[..., Receiver]
    ) -> None:
        hook = hooks(lambda r, h: Answer(410))
        endpoint = add_endpoint(api, hook.url)
        make_order()
        shown = once_disabled(api, endpoint["id"])
        assert shown["disabled_reason"].startswith("Answered 410 Gone")
        (delivery,) = deliveries(api, endpoint["id"])
        assert delivery["state"] == "failed"

    def test_failing_for_the_whole_window_gives_up_and_disables(
        self,
        api: httpx.Client,
        make_order: MakeOrder,
        hooks: Callable[..., Receiver],
        setting: Setting,
    ) -> None:
        setting("ORDERLY_WEBHOOK_RETRY_HOURS", str(1.5 / 3600))  # 1.5 seconds
        hook = hooks(lambda r, h: Answer(500))
        endpoint = add_endpoint(api, hook.url)
        make_order()
        shown = once_disabled(api, endpoint["id"])
        assert shown["disabled_reason"].startswith("Failing since")
        assert "Answered 500" in shown["disabled_reason"]
        assert shown["health"]["success_rate_24h"] == 0
        assert shown["health"]["last_error"] == "Answered 500 Internal Server Error"
        (delivery,) = eventually(lambda: deliveries(api, endpoint["id"], state="failed"))
        assert delivery["attempts"] >= 2

    def test_enabled_again_it_is_sent_what_it_missed(
        self, api: httpx.Client, make_order: MakeOrder, hooks: Callable[..., Receiver]
    ) -> None:
        hook = hooks()
        endpoint = add_endpoint(api, hook.url, enabled=False)
        make_order()
        make_order()
        time.sleep(0.3)
        assert hook.events() == []
        api.patch(f"{ENDPOINTS}/{endpoint['id']}", json={"enabled": True})
        assert len(hook.wait_for(2)) == 2

    def test_retry_and_resend_send_again(
        self, api: httpx.Client, make_order: MakeOrder, hooks: Callable[..., Receiver]
    ) -> None:
        hook = hooks()
        endpoint = add_endpoint(api, hook.url)
        since = datetime.now(UTC) - timedelta(seconds=1)
        make_order()
        make_order()
        hook.wait_for(2)
        (newest, _) = eventually(
            lambda: len(found := deliveries(api, endpoint["id"], state="delivered")) == 2 and found
        )
        retried = api.post(f"{ENDPOINTS}/{endpoint['id']}/deliveries/{newest['id']}/retry")
        assert retried.status_code == 202, retried.text
        assert hook.wait_for(3)[-1]["id"] == newest["event_id"]
        resent = api.post(f"{ENDPOINTS}/{endpoint['id']}/resend", json={"since": since.isoformat()})
        assert resent.status_code == 202, resent.text
        assert resent.json() == {"queued": 2}
        events = hook.wait_for(5)
        # Again, each once (two orders' events: either may arrive first).
        assert sorted(e["id"] for e in events[3:]) == sorted(e["id"] for e in events[:2])
        missing = api.post(f"{ENDPOINTS}/{endpoint['id']}/deliveries/whd_nothing/retry")
        assert missing.status_code == 404

    def test_a_private_destination_is_refused_when_sending(
        self,
        api: httpx.Client,
        make_order: MakeOrder,
        hooks: Callable[..., Receiver],
        setting: Setting,
    ) -> None:
        hook = hooks()
        endpoint = add_endpoint(api, hook.url.replace("127.0.0.1", "localtest.me.invalid"))
        setting("ORDERLY_OUTBOUND_ALLOW_PRIVATE", "false")
        make_order()
        (delivery,) = eventually(
            lambda: [d for d in deliveries(api, endpoint["id"]) if d["attempts"]]
        )
        assert delivery["attempt_log"][0]["error"].startswith("Refused:")
        assert hook.events() == []

    def test_the_test_message_shows_what_the_endpoint_answered(
        self, api: httpx.Client, hooks: Callable[..., Receiver]
    ) -> None:
        hook = hooks(lambda r, h: Answer(202, body=b"thanks"))
        endpoint = add_endpoint(api, hook.url)
        tried = api.post(f"{ENDPOINTS}/{endpoint['id']}/test")
        assert tried.status_code == 200, tried.text
        assert tried.json()["delivered"] is True
        assert tried.json()["response"] == "thanks"
        (received,) = hook.received
        assert Webhook(endpoint["secret"]).verify(received.body, received.headers)["type"] == (
            "webhook.test"
        )
