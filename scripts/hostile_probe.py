"""Probe a running Orderly as an attacker and an unlucky client would, and print what held.

    python scripts/hostile_probe.py   # starts its own server on a temporary SQLite file

Wrong tokens in a burst, an unsigned webhook flood (bytes kept per delivery), a bulk create
given up after 50 ms and retried with its Idempotency-Key, and two PUTs from one read with
If-Match. The figures of issue 10's closing note come from this script.
"""

import os
import signal
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
from sqlalchemy import create_engine, text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.factories import order_payload
from tests.support.postgres import free_port


def main() -> None:
    folder = Path(tempfile.mkdtemp(prefix="orderly-probe-"))
    url = f"sqlite:///{folder / 'probe.db'}"
    env = {**os.environ, "ORDERLY_DATABASE_URL": url, "ORDERLY_LOG_LEVEL": "WARNING"}
    cli = [sys.executable, "-m", "orderly.cli"]
    run = lambda *a: subprocess.run([*cli, *a], env=env, capture_output=True, text=True, check=True)  # noqa: E731
    token = run("tokens", "create", "--org", "probe").stdout.strip().splitlines()[-1]
    added = run("integrations", "add", "--org", "probe", "--platform", "salla").stdout
    webhook_path = "/api/v1/" + added.split("/api/v1/", 1)[1].split()[0]
    port = free_port()
    server = subprocess.Popen(
        [*cli, "serve", "--port", str(port), "--workers", "2"],
        env=env,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        while True:
            try:
                httpx.get(f"{base}/healthz")
                break
            except httpx.TransportError:
                time.sleep(0.1)
        auth = {"Authorization": f"Bearer {token}"}

        # 1. 500 wrong tokens in a burst from one address.
        started = time.monotonic()
        with ThreadPoolExecutor(16) as pool, httpx.Client(base_url=base) as client:
            wrong = {"Authorization": f"Bearer oly_{'x' * 12}_{'y' * 40}"}
            statuses = list(
                pool.map(
                    lambda _: client.get("/api/v1/orders", headers=wrong).status_code, range(500)
                )
            )
        took = time.monotonic() - started
        print(
            f"wrong tokens: 500 in {took:.2f} s ->"
            f" 401: {statuses.count(401)}, 429: {statuses.count(429)}"
        )

        # 2. Unsigned webhook flood: 200 deliveries of 1 MiB, forged signature.
        body = b"x" * (1024 * 1024)
        with ThreadPoolExecutor(8) as pool, httpx.Client(base_url=base, timeout=60) as client:
            sent = list(
                pool.map(
                    lambda _: (
                        client.post(
                            webhook_path, content=body, headers={"X-Salla-Signature": "forged"}
                        ).status_code
                    ),
                    range(200),
                )
            )
        engine = create_engine(url)
        with engine.connect() as connection:
            kept, stored = connection.execute(
                text(
                    "SELECT count(*), coalesce(sum(length(body)), 0)"
                    " FROM deliveries WHERE verified = 0"
                )
            ).one()
        print(
            f"unsigned flood: 200 x 1 MiB -> 401: {sent.count(401)}, 429: {sent.count(429)};"
            f" kept {kept} deliveries, {stored:,} body bytes ({stored // max(kept, 1):,} each)"
        )

        # 3. A bulk create of 1,000 given up after 50 ms, retried with its key until answered.
        batch = (
            b"[" + b",".join(order_payload(customer_name=f"Retry {i}") for i in range(1000)) + b"]"
        )
        tries, answer = 0, None
        with httpx.Client(
            base_url=base, headers={**auth, "Idempotency-Key": "probe-batch"}, timeout=0.05
        ) as impatient:
            while answer is None or answer.status_code != 200:
                tries += 1
                try:
                    answer = impatient.post("/api/v1/orders/bulk", content=batch)
                except httpx.TimeoutException:
                    answer = None
        with httpx.Client(base_url=base, headers=auth) as client:
            total = client.get("/api/v1/orders", params={"search": "Retry"}).json()["total_count"]
            replay = client.post(
                "/api/v1/orders/bulk", content=batch, headers={"Idempotency-Key": "probe-batch"}
            )
        print(
            f"idempotent retries: {tries} tries of a 1,000-order bulk create ->"
            f" {total} orders stored; a later retry: {replay.status_code},"
            f" Idempotent-Replayed: {replay.headers.get('Idempotent-Replayed')}"
        )

        # 4. Two PUTs from the same read.
        with httpx.Client(base_url=base, headers=auth) as client:
            order = client.post("/api/v1/orders", content=order_payload()).json()
            tag = client.get(f"/api/v1/orders/{order['id']}").headers["ETag"]
            first = client.put(
                f"/api/v1/orders/{order['id']}",
                content=order_payload(customer_name="A"),
                headers={"If-Match": tag},
            )
            second = client.put(
                f"/api/v1/orders/{order['id']}",
                content=order_payload(customer_name="B"),
                headers={"If-Match": tag},
            )
            kept_name = client.get(f"/api/v1/orders/{order['id']}").json()["customer_name"]
        print(
            f"stale writes: first PUT {first.status_code}, second PUT from the same read"
            f" {second.status_code}; stored name {kept_name!r}"
        )
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
