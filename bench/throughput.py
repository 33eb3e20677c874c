"""Throughput of the hot endpoints at 16 connections (wrk), next to the floor.

Each case runs wrk against Orderly, then against ``bench/floor.py`` (a bare FastAPI app on the
same server software and worker count, answering the bytes Orderly answered), and reports
both rates and their ratio. wrk comes from Debian's package (``scripts/ensure-wrk.sh``).
"""

import contextlib
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests.factories import order_payload
from tests.support.postgres import free_port


@dataclass
class Case:
    name: str
    method: str
    paths: list[str]
    bodies: list[str] = field(default_factory=lambda: [""])


@dataclass
class Rate:
    per_second: float
    failed: int


_SCRIPT = """
local paths = {%(paths)s}
local bodies = {%(bodies)s}
local headers = {["Authorization"] = "%(authorization)s", ["Content-Type"] = "application/json"}
local i = 0
request = function()
  i = i + 1
  local body = bodies[(math.floor(i / #paths) %% #bodies) + 1]
  if body == "" then body = nil end
  return wrk.format("%(method)s", paths[(i %% #paths) + 1], headers, body)
end
"""


def _lua(text: str) -> str:
    return json.dumps(text)  # a JSON string is a valid Lua string for this ASCII-safe text


def wrk(base: str, case: Case, token: str, *, connections: int, seconds: int) -> Rate:
    script = _SCRIPT % {
        "paths": ", ".join(_lua(p) for p in case.paths),
        "bodies": ", ".join(_lua(b) for b in case.bodies),
        "authorization": f"Bearer {token}",
        "method": case.method,
    }
    with tempfile.NamedTemporaryFile("w", suffix=".lua") as file:
        file.write(script)
        file.flush()
        output = subprocess.run(
            ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "-s", file.name, base],
            capture_output=True,
            text=True,
            check=True,
            timeout=seconds + 60,
        ).stdout
    rate = re.search(r"Requests/sec:\s+([\d.]+)", output)
    failed = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    return Rate(
        per_second=float(rate.group(1)) if rate else 0.0,
        failed=(int(failed.group(1)) if failed else 0)
        + (sum(int(n) for n in errors.groups()) if errors else 0),
    )


def wait_until_up(base: str, seconds: float = 60) -> None:
    """Until ``base`` answers ``GET /healthz`` (at most ``seconds``)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.TransportError):
            httpx.get(f"{base}/healthz")
            return
        time.sleep(0.1)


@contextlib.contextmanager
def floor_server(answers: dict[str, bytes], workers: int) -> Iterator[str]:
    """``bench/floor.py`` answering ``answers`` ("METHOD /path prefix" → bytes)."""
    with tempfile.TemporaryDirectory() as folder:
        table = {}
        for index, (key, body) in enumerate(answers.items()):
            path = Path(folder) / f"{index}.json"
            path.write_bytes(body)
            table[key] = str(path)
        (Path(folder) / "table.json").write_text(json.dumps(table))
        port = free_port()
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "bench.floor:create_app",
                "--factory",
                "--port",
                str(port),
                "--workers",
                str(workers),
                "--no-access-log",
                "--log-level",
                "warning",
            ],
            env={**os.environ, "ORDERLY_BENCH_FLOOR": str(Path(folder) / "table.json")},
        )
        base = f"http://127.0.0.1:{port}"
        try:
            wait_until_up(base)
            yield base
        finally:
            process.terminate()
            process.wait(timeout=30)


def hot_cases(ids: list[str], create_body: str) -> list[Case]:
    orders = "/api/v1/orders"
    return [
        Case("GET /healthz", "GET", ["/healthz"]),
        Case("list page 1", "GET", [orders]),
        Case("get one", "GET", [f"{orders}/{i}" for i in ids]),
        Case("create one", "POST", [orders], [create_body]),
        Case(
            "patch status",
            "PATCH",
            [f"{orders}/{i}/status" for i in ids],
            ['{"fulfillment_status":"fulfilled"}', '{"fulfillment_status":"unfulfilled"}'],
        ),
    ]


def bulk_case() -> Case:
    """A bulk create of 1,000 new orders (no external ids: each request creates them all)."""
    body = b"[" + b",".join(order_payload(external_id=None) for _ in range(1000)) + b"]"
    return Case("bulk create 1,000", "POST", ["/api/v1/orders/bulk"], [body.decode()])


def timed_posts(base: str, case: Case, token: str, count: int) -> list[float]:
    """``count`` requests of ``case`` one after another; each one's time in ms."""
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    times = []
    with httpx.Client(base_url=base, headers=headers, timeout=120) as client:
        for _ in range(count):
            started = time.perf_counter()
            answer = client.request(case.method, case.paths[0], content=case.bodies[0])
            times.append((time.perf_counter() - started) * 1000)
            assert answer.status_code < 300, answer.text[:300]
    return times


def run_throughput(
    base: str, token: str, cases: list[Case], workers: int, *, connections: int, seconds: int
) -> dict[str, tuple[Rate, Rate, Rate]]:
    """Per case: Orderly at one connection, Orderly and the floor at ``connections``."""
    client = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=60)
    answers: dict[str, bytes] = {}
    for case in cases:
        body = case.bodies[0] or None
        response = client.request(case.method, case.paths[0], content=body)
        assert response.status_code < 300, response.text[:300]
        # Character by character on purpose: the ids of "get one" share a prefix longer than
        # the list's path, so the floor tells them apart.
        prefix = os.path.commonprefix(case.paths)  # noqa: RUF071
        answers[f"{case.method} {prefix}"] = response.content
    results: dict[str, tuple[Rate, Rate, Rate]] = {}
    alone = {case.name: wrk(base, case, token, connections=1, seconds=seconds) for case in cases}
    orderly = {
        case.name: wrk(base, case, token, connections=connections, seconds=seconds)
        for case in cases
    }
    with floor_server(answers, workers) as floor_base:
        for case in cases:
            floor = wrk(floor_base, case, token, connections=connections, seconds=seconds)
            results[case.name] = (alone[case.name], orderly[case.name], floor)
            print(
                f"    {case.name}: {alone[case.name].per_second:,.0f}/s alone,"
                f" {orderly[case.name].per_second:,.0f}/s at {connections}"
                f" (floor {floor.per_second:,.0f}/s)",
                file=sys.stderr,
                flush=True,
            )
    return results
