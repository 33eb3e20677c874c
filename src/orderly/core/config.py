"""All settings, read once from ``ORDERLY_*`` environment variables."""

from functools import lru_cache
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


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
    log_format: Literal["text", "json"] = Field(
        default="text", description="Log lines as text, or one JSON object per line."
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        default="INFO", description="INFO logs one line per request; WARNING only problems."
    )


@lru_cache
def get_settings() -> Settings:
    return Settings()
