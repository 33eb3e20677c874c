"""What an operator sees of each request: one log line, Prometheus metrics, a request id.

Every HTTP request is logged once, when its answer has been sent (logger ``orderly.access``):
method, path template, status, duration, organization and request id; as text, or as one JSON
object per line with ``ORDERLY_LOG_FORMAT=json``. A client's ``X-Request-ID`` (up to 128
visible ASCII characters) is kept, otherwise one is made; either way it is echoed in the answer
and written in the log line, so a client's report finds its line.

Metrics come from ``prometheus_client`` and are served at ``GET /metrics``. With several worker
processes (``orderly serve`` starts one per core) they are kept in the folder named by
``PROMETHEUS_MULTIPROC_DIR`` and summed over the processes at each scrape; ``orderly serve``
makes that folder when the variable is not set, and removes it when it stops.
"""

import json
import logging
import logging.config
import os
import shutil
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

access_log = logging.getLogger("orderly.access")

REQUESTS = Counter(
    "orderly_http_requests_total", "HTTP requests answered.", ["method", "route", "status"]
)
LATENCY = Histogram(
    "orderly_http_request_duration_seconds",
    "Time from a request's arrival to its answer's last byte.",
    ["method", "route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
WEBHOOKS = Counter(
    "orderly_webhook_deliveries_total",
    "Webhook deliveries received, by platform and outcome.",
    ["platform", "outcome"],
)
EVENTS_WRITTEN = Counter(
    "orderly_events_written_total", "Events committed to the feed (one per change of an order)."
)
OUTBOUND_DELIVERIES = Counter(
    "orderly_outbound_webhook_attempts_total",
    "Attempts to deliver an event to a webhook endpoint, by outcome (delivered, failed: a"
    " retry follows, gave_up, refused: the destination is not allowed).",
    ["outcome"],
)
OUTBOUND_QUEUE = Gauge(
    "orderly_outbound_webhook_queue_depth",
    "Deliveries waiting to be sent (as the dispatcher last counted them).",
    multiprocess_mode="max",
)
OUTBOUND_OLDEST = Gauge(
    "orderly_outbound_webhook_oldest_seconds",
    "Age of the oldest event not yet delivered to an endpoint that wants it, in seconds.",
    multiprocess_mode="max",
)
INTEGRATIONS_NEEDING_ATTENTION = Gauge(
    "orderly_integrations_needing_attention",
    "Connections whose platform refused their credentials (401/403); their polls wait.",
    multiprocess_mode="max",
)
PLATFORM_CALLS = Counter(
    "orderly_platform_calls_total",
    "Calls to platforms' APIs (polls, backfills, pushes) by platform and answer"
    " (2xx, 4xx, 429, 5xx, error: no answer).",
    ["platform", "answer"],
)
DATABASE_IN_USE = Gauge(
    "orderly_database_turns_in_use",
    "Requests using the database now (at most ORDERLY_DB_POOL_SIZE per process).",
    multiprocess_mode="livesum",
)

DEPENDENCY_UP = Gauge(
    "orderly_dependency_up",
    "1 while a dependency answered its last use, 0 after it failed (database, redis).",
    ["dependency"],
    multiprocess_mode="min",
)


class DependencyState:
    """One dependency's ``orderly_dependency_up`` in this process, written only when it changes:
    requests report every use, and a gauge write per request would be a file write per request
    with several workers."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._up: bool | None = None

    def up(self) -> None:
        if self._up is not True:
            self._up = True
            DEPENDENCY_UP.labels(self.name).set(1)

    def down(self) -> None:
        if self._up is not False:
            self._up = False
            DEPENDENCY_UP.labels(self.name).set(0)


DATABASE_STATE = DependencyState("database")
REDIS_STATE = DependencyState("redis")

LIMITER_FALLBACKS = Counter(
    "orderly_rate_limiter_fallbacks_total",
    "Times Redis did not answer the rate limiter and each process's own limits took over.",
)
DATABASE_UNAVAILABLE = Counter(
    "orderly_database_unavailable_total",
    "Requests answered 503 because the database could not be reached.",
)

_UNMATCHED = "unmatched"  # one label for every path no route serves (keeps the series few)


def _request_id(scope: Scope) -> str:
    for name, value in scope["headers"]:
        if name == b"x-request-id":
            if 0 < len(value) <= 128 and all(0x21 <= byte <= 0x7E for byte in value):
                return bytes(value).decode()
            break
    return uuid.uuid4().hex


class RequestTelemetry:
    """ASGI middleware: the request id in and out, one log line and the metrics per request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _request_id(scope)
        state = scope.setdefault("state", {})
        state["request_id"] = request_id
        header = (b"x-request-id", request_id.encode())
        started = time.perf_counter()
        status = 500  # unless an answer starts

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), header]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            duration = time.perf_counter() - started
            route = getattr(scope.get("route"), "path", None) or _UNMATCHED
            method = scope["method"]
            REQUESTS.labels(method, route, str(status)).inc()
            LATENCY.labels(method, route).observe(duration)
            access_log.info(
                "%s %s %d %.1fms",
                method,
                route,
                status,
                duration * 1000,
                extra={
                    "method": method,
                    "route": route,
                    "path": scope["path"],
                    "status": status,
                    "duration_ms": round(duration * 1000, 2),
                    "organization": state.get("organization_id"),
                    "request_id": request_id,
                },
            )


def metrics_response() -> Response:
    """Prometheus' text format: this process's metrics, or every worker's when they share a
    ``PROMETHEUS_MULTIPROC_DIR``."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


_METRICS_PREFIX = "orderly-metrics-"


def new_metrics_folder() -> Path:
    """A folder for the workers' metrics, named by the serving process."""
    return Path(tempfile.mkdtemp(prefix=f"{_METRICS_PREFIX}{os.getpid()}-"))


def remove_abandoned_metrics_folders() -> None:
    """Remove the folders of servers that ended without removing theirs (killed)."""
    for folder in Path(tempfile.gettempdir()).glob(f"{_METRICS_PREFIX}*"):
        owner = folder.name.removeprefix(_METRICS_PREFIX).split("-", 1)[0]
        if owner.isdigit() and not _is_running(int(owner)):
            shutil.rmtree(folder, ignore_errors=True)


def _is_running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


# ---- log lines -------------------------------------------------------------------------------

_FIELDS = ("method", "route", "path", "status", "duration_ms", "organization", "request_id")


class TextFormatter(logging.Formatter):
    """``time level logger message`` plus the request's fields as ``key=value``."""

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        fields = [
            f"{name}={getattr(record, name)}"
            for name in ("organization", "request_id")
            if hasattr(record, name)
        ]
        if not fields:
            return line
        # The fields go on the message's line, before a traceback if there is one.
        message, newline, rest = line.partition("\n")
        return f"{message} {' '.join(fields)}{newline}{rest}"


class JSONFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, the request's fields, and the
    traceback of an error."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update((name, getattr(record, name)) for name in _FIELDS if hasattr(record, name))
        if record.exc_info:
            entry["traceback"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def configure_logging(log_format: str, level: str) -> None:
    """Orderly's own loggers (``orderly.*``) to stderr in the chosen format; uvicorn keeps its."""
    formatter = "json" if log_format == "json" else "text"
    # A log record per request: skip what no line of ours shows (the Logging HOWTO's
    # "Optimization": the caller's source line, thread and process names).
    logging._srcfile = None
    logging.logThreads = logging.logProcesses = logging.logMultiprocessing = False
    logging.config.dictConfig(
        {
            "version": 1,
            "disable_existing_loggers": False,
            "formatters": {
                "text": {
                    "()": TextFormatter,
                    "format": "%(asctime)s %(levelname)s %(name)s %(message)s",
                },
                "json": {"()": JSONFormatter},
            },
            "handlers": {
                "stderr": {"class": "logging.StreamHandler", "formatter": formatter},
            },
            "loggers": {
                "orderly": {"handlers": ["stderr"], "level": level.upper(), "propagate": False}
            },
        }
    )
