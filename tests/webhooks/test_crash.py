"""kill -9 of the server while orders are written and their events sent: after a restart
every committed event reaches the receiver (a repeat only as at-least-once allows, dropped by
its webhook-id), each order's in order (on SQLite and PostgreSQL)."""

import os
import random
import signal
import threading
import time
from collections import Counter
from pathlib import Path

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session

from orderly.events.models import EventRow
from tests.conftest import make_token
from tests.factories import order_payload
from tests.support.postgres import free_port
from tests.support.receiver import receiver
from tests.support.server import serve_process

KILLS = 3


def _write_orders(base: str, token: str, stop: threading.Event, acknowledged: list[str]) -> None:
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}) as client:
        while not stop.is_set():
            try:
                created = client.post("/api/v1/orders", content=order_payload(), timeout=30)
                if created.status_code != 201:
                    continue
                order_id = created.json()["id"]
                acknowledged.append(order_id)
                client.patch(
                    f"/api/v1/orders/{order_id}/status", json={"status": "confirmed"}, timeout=30
                )
            except httpx.TransportError:
                return  # the server died under it


def test_a_killed_server_loses_no_event_and_keeps_each_order_in_order(
    database_url: str, db: Session, tmp_path: Path
) -> None:
    token = make_token(db, "crash-hooks")
    acknowledged: list[str] = []
    rng = random.Random(11)
    log = tmp_path / "serve.log"
    with receiver() as hook:
        port = free_port()
        server = serve_process(database_url, port, log)
        base = f"http://127.0.0.1:{port}"
        made = httpx.post(
            f"{base}/api/v1/webhook-endpoints",
            json={"url": hook.url},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert made.status_code == 201, made.text
        for kill in range(KILLS + 1):
            if kill:
                port = free_port()
                server = serve_process(database_url, port, log)
                base = f"http://127.0.0.1:{port}"
            if kill == KILLS:
                break  # the last server runs on, to send what is left
            stop = threading.Event()
            writer = threading.Thread(target=_write_orders, args=(base, token, stop, acknowledged))
            writer.start()
            time.sleep(rng.uniform(1.0, 2.5))  # while writes commit and deliveries go out
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(timeout=30)
            stop.set()
            writer.join(timeout=60)

        db.rollback()
        committed = db.execute(
            select(EventRow.id, EventRow.order_id, EventRow.type).order_by(EventRow.sequence)
        ).all()
        assert committed, "no event was committed before the kills"
        created = {order_id for _, order_id, kind in committed if kind == "order.created"}
        assert set(acknowledged) <= created  # what the API acknowledged has its event

        deadline = time.monotonic() + 120
        wanted = {event_id for event_id, _, _ in committed}
        while time.monotonic() < deadline:
            received = {r.headers["webhook-id"] for r in hook.received}
            if wanted <= received:
                break
            time.sleep(0.2)
        os.killpg(server.pid, signal.SIGKILL)
        server.wait(timeout=30)

        ids = [r.headers["webhook-id"] for r in hook.received]
        lost = wanted - set(ids)
        repeats = sum(n - 1 for n in Counter(ids).values())
        print(
            f"\nkill -9 x{KILLS}: {len(wanted)} events committed, {len(ids)} deliveries received,"
            f" {len(lost)} lost, {repeats} repeats"
        )
        assert not lost, f"{len(lost)} of {len(wanted)} events never arrived"
        # Each order's first arrivals are in the order its events committed.
        first_seen: dict[str, list[str]] = {}
        for r in hook.received:
            event = r.event
            kinds = first_seen.setdefault(event["order_id"], [])
            if event["type"] not in kinds:
                kinds.append(event["type"])
        for _, order_id, _ in committed:
            expected = [k for _, o, k in committed if o == order_id]
            assert first_seen[order_id] == list(dict.fromkeys(expected))
