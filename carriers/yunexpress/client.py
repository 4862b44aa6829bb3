"""YunExpress classic OMS network client: one `Tracking/GetTrackInfo` GET per number."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Sequence
from typing import TYPE_CHECKING

from pydantic import SecretStr
from pydantic_settings import SettingsConfigDict

from carriers.base import batch_failure, batch_results
from carriers.yunexpress.parse import parse
from tracking.config import CarrierSettings
from tracking.domain import CarrierFailure, ErrorKind, NumberResult
from tracking.exceptions import CarrierError

if TYPE_CHECKING:
    from carriers.http import CarrierHttp

__all__ = [
    "DEFAULT_BASE_URL",
    "TRACK_PATH",
    "YunExpressAdapter",
    "YunExpressSettings",
    "basic_token",
    "create_adapter",
]

DEFAULT_BASE_URL = "http://oms.api.yunexpress.com/api"
TRACK_PATH = "/Tracking/GetTrackInfo"

_MISSING = (
    "YunExpress credentials not configured: set TRACK_EVIDENCE_YUNEXPRESS__CUSTOMER_CODE "
    "and TRACK_EVIDENCE_YUNEXPRESS__API_SECRET"
)


class YunExpressSettings(CarrierSettings):
    """YunExpress settings.

    **Parameters:**

    * **customer_code** - the merchant's customer code (`CustomerCode`).
    * **api_secret** - the API secret issued with it.
    * **language** - `Accept-Language`: `en-us` for English texts, `zh-cn` for Chinese.
    """

    model_config = SettingsConfigDict(env_prefix="TRACK_EVIDENCE_YUNEXPRESS__", extra="ignore")

    customer_code: SecretStr | None = None
    api_secret: SecretStr | None = None
    language: str = "en-us"


def basic_token(customer_code: str, api_secret: str) -> str:
    """The `Authorization` value: Basic base64 of `<CustomerCode>&<ApiSecret>` (`&`, not `:`)."""
    raw = f"{customer_code}&{api_secret}".encode()
    return "Basic " + base64.b64encode(raw).decode("ascii")


class YunExpressAdapter:
    """Tracks numbers one GET each, concurrently; the HTTP layer enforces the rate limit.

    **Parameters:**

    * **settings** - the carrier's settings (`base_url` overrides the default).
    * **http** - the shared HTTP layer (rate limit, retries, redaction).
    """

    def __init__(self, settings: YunExpressSettings, http: CarrierHttp) -> None:
        self.settings = settings
        self.http = http
        self.url = (settings.base_url or DEFAULT_BASE_URL).rstrip("/") + TRACK_PATH

    async def track(self, numbers: Sequence[str]) -> list[NumberResult]:
        """One result per number, in order; never raises for a number's problem."""
        headers = self._headers()
        if headers is None:
            return [
                NumberResult(n, (), CarrierFailure(n, ErrorKind.AUTH, _MISSING)) for n in numbers
            ]
        return list(await asyncio.gather(*(self._one(n, headers=headers) for n in numbers)))

    def _headers(self) -> dict[str, str] | None:
        code, secret = self.settings.customer_code, self.settings.api_secret
        if self.settings.missing_credentials() or code is None or secret is None:
            return None
        return {
            "Authorization": basic_token(code.get_secret_value(), secret.get_secret_value()),
            "Accept-Language": self.settings.language,
            "Accept": "application/json",
        }

    async def _one(self, number: str, *, headers: dict[str, str]) -> NumberResult:
        try:
            exchange = await self.http.request(
                "GET", self.url, params={"OrderNumber": number.strip()}, headers=headers
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


def create_adapter(settings: CarrierSettings, http: CarrierHttp) -> YunExpressAdapter:
    """Build the adapter; `settings` must be `YunExpressSettings`."""
    if not isinstance(settings, YunExpressSettings):
        raise TypeError(f"YunExpress needs YunExpressSettings, not {type(settings).__name__}")
    return YunExpressAdapter(settings, http)
