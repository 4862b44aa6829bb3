"""Per-tenant carrier accounts: a seller's own YunExpress or 17TRACK credentials.

A tenant whose credentials are configured is fetched with its own account (its own requests,
rate limit and quota at the carrier); every other tenant, and every carrier a tenant has no
account for, falls back to the server's credentials.

Where the credentials live: in a TOML file the operator names with
`TRACK_EVIDENCE_TENANT_CREDENTIALS_FILE` (keep it readable by the server's user only), one
table per tenant and carrier:

    [alice.yunexpress]
    customer_code = "C12345"
    api_secret = "..."

    [alice.17track]
    token = "..."

Never in the database, and no API route reads or writes them: a stored secret cannot be
read back through the API, and a database dump or backup holds none. A table may set the
carrier's credential fields and its `rate_per_second` / `concurrency` (the tenant account's
own limits); anything else is refused, so that a tenant's account cannot point requests at
another host. Every value is registered with `tracking.core.redaction` when the file is read.
In sandbox runs (which use the sandbox's own credentials) the file is not used.
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from carriers.base import CarrierAdapter, CarrierInfo
from carriers.http import CarrierHttp
from carriers.kit.factory import create_adapter
from tracking.core.config import CarrierSettings, Settings, load_carrier_settings
from tracking.core.exceptions import ConfigError
from tracking.core.redaction import register_secrets

__all__ = ["TenantCarriers", "read_tenant_credentials"]

_LIMITS = frozenset({"rate_per_second", "concurrency"})

BuildHttp = Callable[[str, str, CarrierSettings], CarrierHttp]
"""(carrier code, tenant, settings) -> the HTTP layer of that tenant's account."""


def _credential_fields(model: type[CarrierSettings]) -> set[str]:
    return {
        name
        for name, info in model.model_fields.items()
        if info.annotation is not None and "SecretStr" in str(info.annotation)
    }


def read_tenant_credentials(
    path: Path, carriers: Mapping[str, CarrierInfo]
) -> dict[str, dict[str, dict[str, Any]]]:
    """{tenant: {carrier code: settings table}} from `path`; `ConfigError` on anything odd."""
    if path.is_dir():
        raise ConfigError(f"tenant credentials file {path} is a folder, not a TOML file")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"tenant credentials file {path} does not exist") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"tenant credentials file {path} is not valid TOML: {exc}") from None
    found: dict[str, dict[str, dict[str, Any]]] = {}
    for tenant, accounts in data.items():
        if not isinstance(accounts, dict):
            raise ConfigError(f"{path}: [{tenant}] must be a table of carrier accounts")
        for code, table in accounts.items():
            where = f"{path}: [{tenant}.{code}]"
            if code not in carriers:
                raise ConfigError(f"{where}: no carrier {code!r} (known: {', '.join(carriers)})")
            if not isinstance(table, dict):
                raise ConfigError(f"{where} must be a table")
            allowed = _credential_fields(carriers[code].settings_model) | _LIMITS
            unknown = sorted(set(table) - allowed)
            if unknown:
                raise ConfigError(
                    f"{where}: {', '.join(unknown)} cannot be set per tenant "
                    f"(allowed: {', '.join(sorted(allowed))})"
                )
            register_secrets(
                str(v) for k, v in table.items() if k not in _LIMITS and isinstance(v, str)
            )
            found.setdefault(str(tenant), {})[str(code)] = dict(table)
    return found


class TenantCarriers:
    """The adapters of tenants' own carrier accounts, built on first use and kept."""

    def __init__(
        self,
        settings: Settings,
        *,
        carriers: Mapping[str, CarrierInfo],
        build_http: BuildHttp,
    ) -> None:
        path = settings.tenant_credentials_file
        self._settings = settings
        self._carriers = carriers
        self._build_http = build_http
        self._tables = read_tenant_credentials(path, carriers) if path else {}
        self._bound: dict[tuple[str, str], tuple[CarrierAdapter, CarrierHttp]] = {}

    def adapter(self, code: str, tenant: str) -> CarrierAdapter | None:
        """The adapter of `tenant`'s own `code` account; None to use the server's."""
        table = self._tables.get(tenant, {}).get(code)
        if not table or code not in self._carriers:
            return None
        key = (tenant, code)
        if key not in self._bound:
            info = self._carriers[code]
            overrides = {k: (v if k in _LIMITS else SecretStr(str(v))) for k, v in table.items()}
            carrier_settings = load_carrier_settings(
                info.settings_model, settings=self._settings, code=code, overrides=overrides
            )
            http = self._build_http(code, tenant, carrier_settings)
            self._bound[key] = (create_adapter(info, carrier_settings, http=http), http)
        return self._bound[key][0]

    def requests_sent(self) -> int:
        return sum(http.requests_sent for _, http in self._bound.values())
