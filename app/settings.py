"""The one place that reads the service's own environment (SPEC §5): `WEBCARE_*` variables."""

from __future__ import annotations

from datetime import timedelta
from functools import lru_cache
from pathlib import Path
from typing import Literal
from urllib.parse import unquote, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from app.privacy.policy import RetentionPolicy
from app.web.body_limit import DEFAULT_MAX_BODY_BYTES


class Settings(BaseSettings):
    """Validated settings; a bad value stops the start with a message naming the variable.

    `database_url` defaults to a SQLite file under `var_dir`. Plain `sqlite:///...` and
    `postgresql://user@host/db` URLs are accepted; `app.db` picks the drivers.
    """

    model_config = SettingsConfigDict(env_prefix="WEBCARE_", extra="ignore")

    env: Literal["development", "production"] = "development"
    database_url: str | None = None
    rules_dir: Path = Path("routing_rules")
    var_dir: Path = Field(default=Path("var"), description="where development secrets and the SQLite file live")
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    workers_enabled: bool = True
    shutdown_grace_seconds: float = Field(
        default=30, ge=0, description="on SIGTERM, how long requests in flight may take to finish (live streams "
                                      "are ended at once)")
    rules_watch: bool = Field(default=True, description="reload routing_rules/ when its files change")
    rules_debounce_ms: int = Field(default=500, ge=0, description="changes closer together make one reload")
    rules_poll_seconds: float = Field(default=1.0, gt=0, description="how often reloads asked of other processes "
                                      "are looked for, and hit counts are added to the database (twice that)")
    incident_check_seconds: float = Field(
        default=30.0, gt=0, le=60, description="how often incidents.yaml's watches are checked (an incident opens "
                                               "within this long of the crossing)")
    trusted_proxies: str = Field(
        default="", description="comma-separated addresses or networks of reverse proxies whose "
                                "X-Forwarded-For names the client (login throttle); none by default")
    password_hash_concurrency: int = Field(
        default=2, ge=1, le=64, description="password checks (argon2, 64 MiB each) run at once per process")
    docs_enabled: bool = Field(default=False, description="serve /docs, /redoc and /openapi.json in production "
                                                          "too (always served in development)")
    metrics_token: str | None = Field(default=None, repr=False,
                                      description="when set, GET /metrics needs Authorization: Bearer <it>")
    timezone: str = Field(default="Europe/Amsterdam", description="the organisation's time zone: reports place "
                          "days and hours of the week in it (an IANA name)")
    log_format: Literal["json", "text"] = "json"
    log_level: str = "INFO"
    max_body_bytes: int = Field(default=DEFAULT_MAX_BODY_BYTES, ge=1024, le=64 * 1024 * 1024,
                                description="largest request body outside /webhooks (bytes); more is 413")
    retention_raw_payload_days: int = Field(
        default=30, ge=1, le=36500, description="days a mention's raw platform payload is kept (its parsed "
                                                "fields stay)")
    retention_dead_letter_days: int = Field(
        default=30, ge=1, le=36500, description="days an unparsed platform body is kept before it is erased")
    retention_closed_case_days: int = Field(
        default=365, ge=1, le=36500, description="days after its last change that a resolved or closed case "
                                                 "keeps its text and author data")
    retention_delivery_log_days: int = Field(
        default=90, ge=1, le=36500, description="days a department's response body to a webhook delivery is kept")
    # Accepted (SPEC §5) but unused: UI sessions are server-side random tokens stored as hashes.
    secret_key: str | None = Field(default=None, repr=False)

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"{value!r} is not an IANA time zone like Europe/Amsterdam") from exc
        return value

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("sqlite", "postgresql", "postgres://")):
            raise ValueError("only sqlite:/// and postgresql:// URLs are supported")
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, value: str) -> str:
        from app.web.client import parse_networks

        parse_networks(value)
        return value

    @property
    def secret_values(self) -> tuple[str | None, ...]:
        """The secrets among the settings (the database password, the /metrics token, the unused
        session key), which the logs mask."""
        password = urlsplit(self.effective_database_url).password
        return (unquote(password) if password else None, self.metrics_token, self.secret_key)

    @property
    def retention_policy(self) -> RetentionPolicy:
        """How long each kind of personal data is kept (`app.privacy.retention`)."""
        return RetentionPolicy(raw_payloads=timedelta(days=self.retention_raw_payload_days),
                               dead_letters=timedelta(days=self.retention_dead_letter_days),
                               finished_cases=timedelta(days=self.retention_closed_case_days),
                               delivery_logs=timedelta(days=self.retention_delivery_log_days))

    @property
    def production(self) -> bool:
        return self.env == "production"

    @property
    def serves_docs(self) -> bool:
        """The interactive API docs and the OpenAPI document are served (off in production unless
        `WEBCARE_DOCS_ENABLED=true`: they map the whole attack surface for anyone)."""
        return not self.production or self.docs_enabled

    @property
    def effective_database_url(self) -> str:
        """The database URL in use: the configured one, else the embedded SQLite file."""
        return self.database_url or f"sqlite:///{(self.var_dir / 'webcare.db').as_posix()}"


@lru_cache
def get_settings() -> Settings:
    """Settings read once per process."""
    return Settings()
