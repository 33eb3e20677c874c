"""kill -9 of the server while bulk creates stream in: every batch is stored whole or not at
all, and the maintained counts still equal the rows (on SQLite and PostgreSQL)."""

import os
import random
import signal
import threading
import time
from collections import Counter
from pathlib import Path

import httpx
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from orderly.orders.models import OrderCount, OrderRow
from tests.conftest import make_token
from tests.factories import order_payload
from tests.support.postgres import free_port
from tests.support.server import serve_process

BATCH = 200
KILLS = 3


def _send_batches(base: str, token: str, stop: threading.Event, sent: list[str]) -> None:
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}) as client:
        while not stop.is_set():
            marker = f"batch-{len(sent)}"
            sent.append(marker)
            body = b"[" + b",".join([order_payload(customer_name=marker)] * BATCH) + b"]"
            try:
                client.post("/api/v1/orders/bulk", content=body, timeout=30)
            except httpx.TransportError:
                return  # the server died under it


def test_a_killed_server_leaves_whole_batches_and_true_counts(
    database_url: str, db: Session, tmp_path: Path
) -> None:
    token = make_token(db, "crash")
    sent: list[str] = []
    rng = random.Random(7)
    for _ in range(KILLS):
        port = free_port()
        server = serve_process(database_url, port, tmp_path / "serve.log")
        stop = threading.Event()
        sender = threading.Thread(
            target=_send_batches, args=(f"http://127.0.0.1:{port}", token, stop, sent)
        )
        sender.start()
        time.sleep(rng.uniform(0.3, 1.5))  # mid-batch, most likely
        os.killpg(server.pid, signal.SIGKILL)
        server.wait(timeout=30)
        stop.set()
        sender.join(timeout=60)

    db.rollback()
    stored = Counter(
        dict(
            db.execute(
                select(OrderRow.customer_name, func.count()).group_by(OrderRow.customer_name)
            ).all()
        )
    )
    assert stored, "no batch was stored before the kills"
    assert set(stored.values()) == {BATCH}, stored  # whole or absent, never part
    assert set(stored) <= set(sent)
    counted = db.scalar(select(func.sum(OrderCount.n))) or 0
    assert counted == sum(stored.values())
