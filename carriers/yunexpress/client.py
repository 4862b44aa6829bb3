"""YunExpress network clients: the classic OMS API or the newer Open Platform.

Which one runs is chosen by the credentials configured: an Open Platform app id and secret
select `openapi.OpenApiAdapter`; otherwise the classic customer code and API secret select
`YunExpressAdapter`, one `Tracking/GetTrackAllInfo` GET per number. The full-trace call is
what integrations use to get the last mile too (`GetTrackInfo` may stop at YunExpress's own
leg); both answer the same `{Item: {OrderTrackingDetails}}` shape.

The classic `Authorization` is `Basic base64(<CustomerCode>&<ApiSecret>)`; YunExpress's
published test account (`C06901` / `3VniAsdO6mU=`, on `omsapi.uat.yunexpress.com`) rebuilds
it in tests/test_official_examples.py.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Sequence
from typing import TYPE_CHECKING

from pydantic import SecretStr
from pydantic_settings import SettingsConfigDict

from carriers.kit.adapter import HttpAdapter
from carriers.kit.envelopes import batch_failure, batch_results
from carriers.yunexpress.openapi import OPENAPI_BASE_URL, OpenApiAdapter, OpenApiCredentials
from carriers.yunexpress.parse import parse
from tracking.core.config import CarrierSettings
from tracking.core.domain import CarrierFailure, ErrorKind, NumberResult
from tracking.core.exceptions import CarrierError

if TYPE_CHECKING:
    from carriers.http import CarrierHttp

__all__ = [
    "DEFAULT_BASE_URL",
    "TRACK_PATH",
    "YunExpressAdapter",
    "YunExpressSettings",
    "basic_token",
    "build_adapter",
]

DEFAULT_BASE_URL = "https://oms.api.yunexpress.com/api"
"""HTTPS, so that the Basic credentials never travel in clear. YunExpress's docs show `http`;
integrations also call `https://oms.api.yunexpress.com` (inferred: the first real call
settles it; `TRACK_EVIDENCE_YUNEXPRESS__BASE_URL` overrides)."""
TRACK_PATH = "/Tracking/GetTrackAllInfo"

_MISSING = (
    "YunExpress credentials not configured: set TRACK_EVIDENCE_YUNEXPRESS__CUSTOMER_CODE "
    "and TRACK_EVIDENCE_YUNEXPRESS__API_SECRET (classic API), or "
    "TRACK_EVIDENCE_YUNEXPRESS__APP_ID and TRACK_EVIDENCE_YUNEXPRESS__APP_SECRET (Open Platform)"
)


class YunExpressSettings(CarrierSettings):
    """YunExpress settings.

    **Parameters:**

    * **customer_code** - the merchant's customer code (`CustomerCode`).
    * **api_secret** - the API secret issued with it.
    * **language** - `Accept-Language`: `en-us` for English texts, `zh-cn` for Chinese.
    * **app_id**, **app_secret**, **source_key** - Open Platform credentials; when app id and
      secret are set, the Open Platform is used instead of the classic API.
    * **openapi_base_url** - the Open Platform host (`https://openapi.yunexpress.cn`).
    """

    model_config = SettingsConfigDict(env_prefix="TRACK_EVIDENCE_YUNEXPRESS__", extra="ignore")

    customer_code: SecretStr | None = None
    api_secret: SecretStr | None = None
    language: str = "en-us"
    app_id: SecretStr | None = None
    app_secret: SecretStr | None = None
    source_key: SecretStr | None = None
    openapi_base_url: str | None = None

    def openapi_credentials(self) -> OpenApiCredentials | None:
        """The Open Platform credentials, when both app id and secret are set."""
        app_id, secret = _value(self.app_id), _value(self.app_secret)
        if not app_id or not secret:
            return None
        return OpenApiCredentials(app_id, secret, _value(self.source_key))

    def missing_credentials(self) -> list[str]:
        """Nothing when either credential kind is complete; else the classic kind's gaps."""
        if self.openapi_credentials() is not None:
            return []
        return [name for name in ("customer_code", "api_secret") if not _value(getattr(self, name))]


def basic_token(customer_code: str, api_secret: str) -> str:
    """The `Authorization` value: Basic base64 of `<CustomerCode>&<ApiSecret>` (`&`, not `:`)."""
    raw = f"{customer_code}&{api_secret}".encode()
    return "Basic " + base64.b64encode(raw).decode("ascii")


class YunExpressAdapter(HttpAdapter[YunExpressSettings]):
    """Tracks numbers one GET each, concurrently; the HTTP layer enforces the rate limit."""

    code = "yunexpress"

    async def track(self, numbers: Sequence[str]) -> list[NumberResult]:
        """One result per number, in order; never raises for a number's problem."""
        headers = self._headers()
        if headers is None:
            return [
                NumberResult(n, (), CarrierFailure(n, ErrorKind.AUTH, _MISSING)) for n in numbers
            ]
        return list(await asyncio.gather(*(self._one(n, headers=headers) for n in numbers)))

    def _headers(self) -> dict[str, str] | None:
        code, secret = _value(self.settings.customer_code), _value(self.settings.api_secret)
        if not code or not secret:
            return None
        return {
            "Authorization": basic_token(code, secret),
            "Accept-Language": self.settings.language,
            "Accept": "application/json",
        }

    async def _one(self, number: str, *, headers: dict[str, str]) -> NumberResult:
        try:
            exchange = await self.http.request(
                "GET",
                self.base_url + TRACK_PATH,
                params={"OrderNumber": number.strip()},
                headers=headers,
            )
        except CarrierError as exc:
            return batch_failure([number], exc)[0]
        try:
            parsed = parse(exchange.body, requested=[number])
        except CarrierError as exc:
            if exc.exchange is None:
                exc.exchange = exchange
            return batch_failure([number], exc)[0]
        return batch_results([number], exchange, parsed)[0]


def _value(secret: SecretStr | None) -> str:
    return secret.get_secret_value().strip() if secret is not None else ""


def build_adapter(
    settings: YunExpressSettings, http: CarrierHttp, /, *, base_url: str, batch_size: int
) -> YunExpressAdapter | OpenApiAdapter:
    """The adapter the configured credentials call for: Open Platform, else classic."""
    openapi = settings.openapi_credentials()
    if openapi is not None:
        language = "zh-CN" if settings.language.lower().startswith("zh") else "en-US"
        return OpenApiAdapter(
            openapi,
            http,
            base_url=settings.openapi_base_url or OPENAPI_BASE_URL,
            language=language,
        )
    return YunExpressAdapter(settings, http, base_url=base_url, batch_size=batch_size)
