"""Cainiao network client: one GET of the public `global/detail.json` per batch."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from pydantic_settings import SettingsConfigDict

from carriers.base import answer_results, batch_failure
from carriers.cainiao.parse import parse
from tracking.core.config import CarrierSettings
from tracking.core.domain import NumberResult
from tracking.core.exceptions import CarrierError

if TYPE_CHECKING:
    from carriers.http import CarrierHttp

__all__ = ["DETAIL_PATH", "CainiaoAdapter", "CainiaoSettings"]

DETAIL_PATH = "/global/detail.json"


class CainiaoSettings(CarrierSettings):
    """Cainiao settings; the consumer endpoint is public, so there are no credentials.

    **Parameters:**

    * **lang** - the `lang` query parameter; `en-US` gives English `standerdDesc` texts.
    """

    model_config = SettingsConfigDict(env_prefix="TRACK_EVIDENCE_CAINIAO__", extra="ignore")

    lang: str = "en-US"


class CainiaoAdapter:
    """Tracks batches of numbers through Cainiao's public consumer endpoint.

    **Parameters:**

    * **settings** - the carrier's settings (`base_url` overrides the default).
    * **http** - the shared HTTP layer (rate limit, retries, redaction).
    * **default_base_url** - the real API's base URL, used when settings set none.
    * **batch_size** - the most numbers one call may take.
    """

    def __init__(
        self,
        settings: CainiaoSettings,
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
        """One result per number, in order; a whole-batch failure fails every number."""
        if not numbers:
            return []
        if len(numbers) > self.batch_size:
            raise ValueError(f"cainiao takes at most {self.batch_size} numbers a call")
        try:
            exchange = await self.http.request(
                "GET",
                f"{self.base_url}{DETAIL_PATH}",
                params={"mailNos": ",".join(numbers), "lang": self.settings.lang},
            )
        except CarrierError as err:
            return batch_failure(numbers, err)
        return answer_results("cainiao", numbers, exchange, parse)


def create_adapter(
    settings: CarrierSettings,
    http: CarrierHttp,
    *,
    default_base_url: str,
    batch_size: int,
) -> CainiaoAdapter:
    """Build the adapter; `settings` must be `CainiaoSettings`."""
    if not isinstance(settings, CainiaoSettings):
        raise TypeError(f"cainiao needs CainiaoSettings, not {type(settings).__name__}")
    return CainiaoAdapter(settings, http, default_base_url=default_base_url, batch_size=batch_size)
