"""The one adapter factory: carrier name (or registration), settings, optional transport.

Every caller builds adapters here: the pull pipeline, tenants' own accounts, tests and
scripts. Where requests go is the transport's business (the real network by default; the
sandbox's `httpx.ASGITransport`, or a test's `httpx.MockTransport`), never a flag.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx
from pydantic import ValidationError

from carriers.base import CarrierAdapter, CarrierInfo, RateLimit
from carriers.http import CarrierHttp, default_timeout
from carriers.registry import get_carrier
from tracking.core.config import CarrierSettings
from tracking.core.exceptions import ConfigError

__all__ = ["carrier_settings", "create_adapter"]


def carrier_settings(
    info: CarrierInfo, settings: CarrierSettings | Mapping[str, Any] | None
) -> CarrierSettings:
    """`settings` as the carrier's own settings class.

    A mapping (field name -> value, e.g. credentials) is taken as it is, without reading the
    environment; None means the class's defaults. A settings object of another carrier's
    class is a `TypeError` (a programming mistake, not a user's).
    """
    model = info.settings_model
    if isinstance(settings, CarrierSettings):
        if not isinstance(settings, model):
            raise TypeError(f"{info.code} needs {model.__name__}, not {type(settings).__name__}")
        return settings
    try:
        return model.model_validate(dict(settings or {}))
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
        )
        raise ConfigError(f"invalid settings for carrier {info.code}: {problems}") from None


def create_adapter(
    carrier: str | CarrierInfo,
    settings: CarrierSettings | Mapping[str, Any] | None = None,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    http: CarrierHttp | None = None,
) -> CarrierAdapter:
    """The adapter of `carrier`, bound to its settings and an HTTP layer.

    **Parameters:**

    * **carrier** - a registered code (`cainiao`, `17track`...) or its `CarrierInfo`.
    * **settings** - the carrier's settings, or a mapping of them (credentials, `base_url`).
    * **transport** - where requests go, for an HTTP layer built here: the real network
      when None, a sandbox's `httpx.ASGITransport` or a test's `httpx.MockTransport`.
    * **http** - an HTTP layer built by the caller (its own client, limiter and rate),
      instead of one built here over `transport`.

    Raises `ConfigError` for an unknown carrier or invalid settings.
    """
    info = carrier if isinstance(carrier, CarrierInfo) else get_carrier(carrier)
    bound = carrier_settings(info, settings)
    if http is None:
        http = CarrierHttp(
            client=httpx.AsyncClient(
                transport=transport,
                timeout=default_timeout(bound.timeout_seconds),
                follow_redirects=False,
            ),
            carrier=info.code,
            adapter_version=info.adapter_version,
            rate_limit=RateLimit(
                bound.rate_per_second or info.rate_limit.per_second,
                concurrency=bound.concurrency or info.rate_limit.concurrency,
            ),
            secrets=bound.secret_values(),
            max_attempts=bound.max_attempts,
            name=info.name,
        )
    elif transport is not None:
        raise ValueError("give either `http` or `transport`: the HTTP layer has its own client")
    return info.adapter(
        bound,
        http,
        base_url=bound.base_url or info.default_base_url,
        batch_size=info.batch_size,
    )
