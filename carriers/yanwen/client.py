"""Yanwen network client: one GET of `/api/tracking` per batch of comma-joined numbers."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from pydantic import SecretStr
from pydantic_settings import SettingsConfigDict

from carriers.base import answer_results, batch_failure
from carriers.yanwen.parse import parse
from tracking.core.config import CarrierSettings
from tracking.core.domain import NumberResult
from tracking.core.exceptions import AuthError, CarrierError

if TYPE_CHECKING:
    from carriers.http import CarrierHttp

__all__ = ["TRACKING_PATH", "YanwenAdapter", "YanwenSettings", "create_adapter"]

TRACKING_PATH = "/api/tracking"


class YanwenSettings(CarrierSettings):
    """Yanwen settings.

    **Parameters:**

    * **customer_number** - the Yanwen customer number; the API takes it, raw and without a
      scheme, as the `Authorization` header.
    """

    model_config = SettingsConfigDict(env_prefix="TRACK_EVIDENCE_YANWEN__", extra="ignore")

    customer_number: SecretStr | None = None


class YanwenAdapter:
    """Tracks batches of numbers through Yanwen's `api/tracking` endpoint.

    **Parameters:**

    * **settings** - the carrier's settings (`base_url` overrides the default).
    * **http** - the shared HTTP layer (rate limit, retries, redaction).
    * **default_base_url** - the real API's base URL, used when settings set none.
    * **batch_size** - the most numbers one call may take.
    """

    def __init__(
        self,
        settings: YanwenSettings,
        http: CarrierHttp,
        *,
        default_base_url: str,
        batch_size: int,
    ) -> None:
        self.settings = settings
        self.http = http
        self.base_url = (settings.base_url or default_base_url).rstrip("/")
        self.batch_size = batch_size

    async def track(self, numbers: Sequence[str]) -> list[NumberResult]:
        """One result per number, in order; a whole-batch failure fails every number.

        Without a customer number nothing is sent: every number fails with `auth`.
        """
        if not numbers:
            return []
        if len(numbers) > self.batch_size:
            raise ValueError(f"yanwen takes at most {self.batch_size} numbers a call")
        customer = self.settings.customer_number
        if customer is None or not customer.get_secret_value().strip():
            refused = AuthError(
                "yanwen: no customer number configured (TRACK_EVIDENCE_YANWEN__CUSTOMER_NUMBER)",
                carrier="yanwen",
            )
            return batch_failure(numbers, refused)
        try:
            exchange = await self.http.request(
                "GET",
                f"{self.base_url}{TRACKING_PATH}",
                params={"nums": ",".join(numbers)},
                headers={"Authorization": customer.get_secret_value().strip()},
            )
        except CarrierError as err:
            return batch_failure(numbers, err)
        return answer_results("yanwen", numbers, exchange, parse)


def create_adapter(
    settings: CarrierSettings,
    http: CarrierHttp,
    *,
    default_base_url: str,
    batch_size: int,
) -> YanwenAdapter:
    """Build the adapter; `settings` must be `YanwenSettings`."""
    if not isinstance(settings, YanwenSettings):
        raise TypeError(f"yanwen needs YanwenSettings, not {type(settings).__name__}")
    return YanwenAdapter(settings, http, default_base_url=default_base_url, batch_size=batch_size)
