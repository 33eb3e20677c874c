"""All settings, read once from ``ORDERLY_*`` environment variables."""

from functools import lru_cache
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from orderly.core.ratelimit import Rate


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ORDERLY_", env_file=".env", extra="ignore")

    database_url: str = Field(
        default="sqlite:///./orderly.db",
        description="SQLAlchemy URL; sqlite:///path (default) or postgresql://user:pass@host/db.",
    )
    default_country: str = Field(
        default="SA",
        description="Region for phone numbers sent without a country code, for new organizations.",
    )
    max_body_bytes: int = Field(
        default=16 * 1024 * 1024, description="Larger request bodies are refused with 413."
    )
    public_url: str | None = Field(
        default=None,
        description="Base URL the platforms reach this service at (https://orders.example.com),"
        " used in integrations' webhook_url; default: the URL of the request that asks.",
    )
    db_pool_size: int = Field(
        default=10, description="Requests per worker process that use the database at once."
    )
    redis_url: str | None = Field(
        default=None,
        description="redis://host:6379/0: rate limits shared by every worker and node; default:"
        " each worker process keeps its own.",
    )
    rate_limit: str | None = Field(
        default=None,
        description="Requests per API token, as a token bucket ('600/minute'); default: none."
        " Answers carry X-RateLimit-Limit, -Remaining and -Reset.",
    )
    auth_failure_limit: str = Field(
        default="20/minute",
        description="Requests with a wrong token per client address before it gets 429.",
    )
    unverified_webhook_limit: str = Field(
        default="60/minute",
        description="Webhook deliveries failing their signature per connection before 429.",
    )
    trusted_proxies: str = Field(
        default="",
        description="Comma-separated addresses of reverse proxies whose X-Forwarded-For and"
        " X-Forwarded-Proto are believed; default: none.",
    )
    allowed_hosts: str = Field(
        default="localhost,127.0.0.1,::1",
        description="Comma-separated host names a webhook_url may be built from when"
        " ORDERLY_PUBLIC_URL is unset ('*': any); another Host gets a path-only webhook_url.",
    )
    secret_key: str | None = Field(
        default=None,
        description="Fernet key(s) that encrypt webhook secrets at rest, comma-separated, newest"
        " first ('orderly secrets rotate'); default: a key file created beside the SQLite"
        " database (orderly.key in the working folder for PostgreSQL).",
    )
    inbox_retention_days: int = Field(
        default=30, ge=1, description="Processed webhook deliveries are kept this many days."
    )
    unverified_retention_days: int = Field(
        default=7, ge=1, description="Deliveries that failed their signature: this many days."
    )
    event_retention_days: int = Field(
        default=30, ge=1, description="Events are kept this many days ('orderly prune')."
    )
    outbound_allow_private: bool = Field(
        default=False,
        description="Let outbound calls (webhook endpoints) reach private, loopback and"
        " link-local addresses; default: refused (only for tests and local development).",
    )
    webhook_dispatcher: bool = Field(
        default=True,
        description="Each server process sends webhook deliveries (several share the work).",
    )
    webhook_timeout_seconds: float = Field(
        default=10, gt=0, le=60, description="An attempt to deliver a webhook ends after this."
    )
    webhook_retry_hours: float = Field(
        default=72,
        gt=0,
        description="A delivery is retried this long; an endpoint failing this long is disabled.",
    )
    webhook_retry_base_seconds: float = Field(
        default=30,
        gt=0,
        description="The first retry's delay; each next one doubles (jittered, at most 6 hours).",
    )
    platform_sync: bool = Field(
        default=True,
        description="Each server process polls platforms, runs backfills and pushes changes"
        " back (several share the work).",
    )
    platform_timeout_seconds: float = Field(
        default=30, gt=0, le=300, description="A call to a platform's API ends after this."
    )
    platform_retries: int = Field(
        default=4,
        ge=0,
        le=10,
        description="A platform call that fails (5xx, timeout, 429) is tried this many times more.",
    )
    platform_retry_base_seconds: float = Field(
        default=2,
        gt=0,
        description="The first retry of a platform call waits this long; each next one doubles.",
    )
    platform_longest_wait_seconds: float = Field(
        default=60,
        gt=0,
        description="A platform's Retry-After up to this is waited out; a longer one ends the"
        " run (the next poll goes on).",
    )
    push_retry_hours: float = Field(
        default=24, gt=0, description="A change pushed back to a platform is retried this long."
    )
    log_format: Literal["text", "json"] = Field(
        default="text", description="Log lines as text, or one JSON object per line."
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        default="INFO", description="INFO logs one line per request; WARNING only problems."
    )

    metrics_token: str | None = Field(
        default=None,
        description="When set, GET /metrics needs 'Authorization: Bearer <this>' (a scraper's"
        " secret); default: open, for a port that only the monitoring network reaches.",
    )
    worker_healthcheck_timeout: int = Field(
        default=30,
        ge=1,
        description="Seconds 'orderly serve' waits for a worker to answer its supervisor's"
        " health check (a worker still starting on a busy machine) before it restarts it.",
    )

    @field_validator("database_url")
    @classmethod
    def _a_database(cls, value: str) -> str:
        try:
            backend = make_url(value).get_backend_name()
        except ArgumentError:
            raise ValueError(
                f"Not a database URL: {value!r} (sqlite:///path or postgresql://user@host/db)"
            ) from None
        if backend not in ("sqlite", "postgresql"):
            raise ValueError(f"Orderly runs on SQLite or PostgreSQL, not {backend}: {value!r}")
        return value

    @field_validator("rate_limit", "auth_failure_limit", "unverified_webhook_limit")
    @classmethod
    def _a_rate(cls, value: str | None) -> str | None:
        if value is not None:
            Rate.parse(value)
        return value


@lru_cache
def get_settings() -> Settings:
    return Settings()
