"""Settings: environment (`TRACK_EVIDENCE_*`), an optional `.env` and an optional TOML file.

Nothing here connects to anything; settings are read when a command asks for them.
"""

from __future__ import annotations

import tomllib
from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from tracking.core.exceptions import ConfigError
from tracking.core.redaction import register_secrets

__all__ = [
    "CarrierSettings",
    "Settings",
    "get_settings",
    "load_carrier_settings",
]

DEFAULT_DATABASE_URL = "sqlite:///./track-evidence.db"


class Settings(BaseSettings):
    """Core settings.

    **Parameters:**

    * **database_url** - SQLAlchemy URL; SQLite by default, `postgresql+psycopg://...` at scale.
    * **config_file** - optional TOML file with a `[carriers.<code>]` table per carrier.
    * **policy** - the verdict policy in force by default.
    * **max_transit_days** - an unfinished shipment older than this fails instead of pending.
    """

    model_config = SettingsConfigDict(
        env_prefix="TRACK_EVIDENCE_",
        env_nested_delimiter="__",
        env_file=".env",
        extra="ignore",
    )

    database_url: str = DEFAULT_DATABASE_URL
    config_file: Path | None = None
    policy: str = "default"
    max_transit_days: int = Field(default=60, ge=1, le=365)
    window_days: int = Field(default=90, ge=1, le=3660)
    rates_file: Path | None = None
    """Currency rates (TOML or CSV) for value-based policies such as `joom`."""
    data_dir: Path = Path("track-evidence-data")
    """Where the API writes bundles."""
    signing_key: Path | None = None
    """Ed25519 private key (PEM) that signs bundle manifests; unsigned when not set."""
    job_concurrency: int = Field(default=4, ge=1, le=256)
    """API jobs (pulls, bundles) run at once by `serve`, shared round-robin by tenant."""
    job_quota_per_tenant: int = Field(default=20, ge=0)
    """Pulls and bundles one tenant may have queued or running at once (0: no quota)."""
    order_quota_per_tenant: int = Field(default=2_000_000, ge=0)
    """Orders one tenant may store through the API (0: no quota)."""
    allow_internal_webhooks: bool = False
    """Let webhook URLs reach loopback, private and link-local addresses (self-hosting only)."""

    tenant_credentials_file: Path | None = None
    """TOML of tenants' own carrier accounts (`tracking.fetch.tenant_carriers`); never in the DB."""

    @field_validator(
        "signing_key", "config_file", "rates_file", "tenant_credentials_file", mode="before"
    )
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        """`TRACK_EVIDENCE_SIGNING_KEY=` (empty) means no key, never the current folder."""
        if isinstance(value, str) and not value.strip():
            return None
        return value

    def carrier_table(self, code: str) -> dict[str, Any]:
        """The `[carriers.<code>]` table of the TOML config file, if any."""
        if self.config_file is None:
            return {}
        try:
            data = tomllib.loads(self.config_file.read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise ConfigError(f"config file {self.config_file} does not exist") from exc
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"config file {self.config_file} is not valid TOML: {exc}") from exc
        table = data.get("carriers", {}).get(code, {})
        if not isinstance(table, dict):
            raise ConfigError(f"{self.config_file}: [carriers.{code}] must be a table")
        return table


class CarrierSettings(BaseSettings):
    """Settings every carrier has; a carrier subclasses it to add its credentials.

    A subclass sets `model_config = SettingsConfigDict(env_prefix="TRACK_EVIDENCE_<CODE>__")`
    and declares credentials as `SecretStr | None` fields.
    """

    model_config = SettingsConfigDict(extra="ignore", env_file=".env")

    base_url: str | None = None
    rate_per_second: float | None = Field(default=None, gt=0)
    concurrency: int | None = Field(default=None, ge=1, le=256)
    timeout_seconds: float = Field(default=20.0, gt=0, le=300)
    max_attempts: int = Field(default=5, ge=1, le=20)

    def secret_values(self) -> list[str]:
        """Every secret value, for redaction (never logged or stored)."""
        values: list[str] = []
        for name in type(self).model_fields:
            value = getattr(self, name)
            if isinstance(value, SecretStr):
                raw = value.get_secret_value()
                if raw:
                    values.append(raw)
        return values

    def missing_credentials(self) -> list[str]:
        """Names of secret fields that are not set."""
        missing: list[str] = []
        for name, info in type(self).model_fields.items():
            if info.annotation is not None and "SecretStr" in str(info.annotation):
                value = getattr(self, name)
                if value is None or not value.get_secret_value():
                    missing.append(name)
        return missing


def load_carrier_settings(
    model: type[CarrierSettings],
    *,
    settings: Settings,
    code: str,
    overrides: dict[str, Any] | None = None,
) -> CarrierSettings:
    """Build a carrier's settings: TOML table, then environment, then explicit overrides."""
    values = dict(settings.carrier_table(code))
    try:
        # Environment wins over the TOML table: pydantic-settings gives init kwargs priority,
        # so read the environment first and only fill the gaps from TOML.
        from_env = model()
        explicit = from_env.model_dump(exclude_unset=True)
        merged = {**values, **explicit, **(overrides or {})}
        built = model(**merged)
        register_secrets(built.secret_values())  # never in logs, the database or bundles
        return built
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
        )
        raise ConfigError(f"invalid settings for carrier {code}: {problems}") from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once on first use."""
    try:
        return Settings()
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
        )
        raise ConfigError(f"invalid settings: {problems}") from None
