"""Settings: environment (`TRACK_EVIDENCE_*`), an optional `.env` and an optional TOML file.

A carrier's settings come, first source winning, from explicit values (a sandbox run, a
tenant's own account), the environment, `.env`, then the `[carriers.<code>]` table of the TOML
file named by `TRACK_EVIDENCE_CONFIG_FILE`; pydantic-settings merges them
(`CarrierSettings.settings_customise_sources`, `TomlConfigSettingsSource`). A bad file or value
is one `ConfigError` line naming the file and key, or the environment variable.

Nothing here connects to anything; settings are read when a command asks for them.
"""

from __future__ import annotations

import functools
import tomllib
from pathlib import Path
from typing import Any, cast

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    DotEnvSettingsSource,
    EnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

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

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """First source wins: explicit values, environment, `.env`, then the TOML table
        (`toml_file` and `toml_table_header` set by `load_carrier_settings`)."""
        sources = [init_settings, env_settings, dotenv_settings, file_secret_settings]
        if settings_cls.model_config.get("toml_file"):
            sources.append(TomlConfigSettingsSource(settings_cls))
        return tuple(sources)

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
    """Build a carrier's settings: explicit overrides, then environment, then the TOML table."""
    path = settings.config_file
    reader = model
    if path is not None and _has_table(path, code):
        reader = _reading_table(model, path.resolve(), code)
    try:
        built = reader(**(overrides or {}))
    except ValidationError as exc:
        raise ConfigError(
            f"invalid settings for carrier {code}: {_problems(exc, model, path, code, overrides)}"
        ) from None
    register_secrets(built.secret_values())  # never in logs, the database or bundles
    return built


def _has_table(path: Path, code: str) -> bool:
    """Whether the config file has a `[carriers.<code>]` table (ConfigError when it is bad)."""
    if not path.is_file():
        raise ConfigError(f"config file {path} does not exist")
    try:
        data = TomlConfigSettingsSource(Settings, toml_file=path).toml_data
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from None
    carriers = data.get("carriers", {})
    if not isinstance(carriers, dict):
        raise ConfigError(f"{path}: carriers must be a table of [carriers.<code>] tables")
    table = carriers.get(code)
    if table is not None and not isinstance(table, dict):
        raise ConfigError(f"{path}: [carriers.{code}] must be a table")
    return table is not None


@functools.cache
def _reading_table(model: type[CarrierSettings], path: Path, code: str) -> type[CarrierSettings]:
    """`model`, also reading the `[carriers.<code>]` table of `path` (after the environment)."""
    config = SettingsConfigDict(toml_file=path, toml_table_header=("carriers", code))
    subclass = type(
        model.__name__, (model,), {"model_config": config, "__module__": model.__module__}
    )
    return cast(type[CarrierSettings], subclass)


def _problems(
    exc: ValidationError,
    model: type[CarrierSettings],
    path: Path | None,
    code: str,
    overrides: dict[str, Any] | None,
) -> str:
    """Each invalid value with where it was set (values themselves never shown: secrets)."""
    from_env = {**DotEnvSettingsSource(model)(), **EnvSettingsSource(model)()}
    prefix = model.model_config.get("env_prefix", "")
    out = []
    for err in exc.errors():
        key = ".".join(str(p) for p in err["loc"])
        field = str(err["loc"][0]) if err["loc"] else key
        if overrides and field in overrides:
            where = key
        elif field in from_env or path is None:
            where = f"{prefix}{key}".upper()
        else:
            where = f"{path}: [carriers.{code}] {key}"
        out.append(f"{where}: {err['msg']}")
    return "; ".join(out)


@functools.lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once on first use."""
    try:
        return Settings()
    except ValidationError as exc:
        prefix = Settings.model_config.get("env_prefix", "")
        problems = "; ".join(
            f"{prefix}{'__'.join(str(p) for p in err['loc'])}".upper() + f": {err['msg']}"
            for err in exc.errors()
        )
        raise ConfigError(f"invalid settings: {problems}") from None
