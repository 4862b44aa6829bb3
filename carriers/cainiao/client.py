"""Cainiao network client: one GET of the public `global/detail.json` per batch."""

from __future__ import annotations

from collections.abc import Sequence

from pydantic_settings import SettingsConfigDict

from carriers.cainiao.parse import parse
from carriers.kit.adapter import HttpAdapter
from carriers.kit.envelopes import answer_results, batch_failure
from tracking.core.config import CarrierSettings
from tracking.core.domain import NumberResult
from tracking.core.exceptions import CarrierError

__all__ = ["DETAIL_PATH", "CainiaoAdapter", "CainiaoSettings"]

DETAIL_PATH = "/global/detail.json"


class CainiaoSettings(CarrierSettings):
    """Cainiao settings; the consumer endpoint is public, so there are no credentials.

    **Parameters:**

    * **lang** - the `lang` query parameter; `en-US` gives English `standerdDesc` texts.
    """

    model_config = SettingsConfigDict(env_prefix="TRACK_EVIDENCE_CAINIAO__", extra="ignore")

    lang: str = "en-US"


class CainiaoAdapter(HttpAdapter[CainiaoSettings]):
    """Tracks batches of numbers through Cainiao's public consumer endpoint."""

    code = "cainiao"

    async def track(self, numbers: Sequence[str]) -> list[NumberResult]:
        """One result per number, in order; a whole-batch failure fails every number."""
        if not numbers:
            return []
        self.check_batch(numbers)
        try:
            exchange = await self.http.request(
                "GET",
                f"{self.base_url}{DETAIL_PATH}",
                params={"mailNos": ",".join(numbers), "lang": self.settings.lang},
            )
        except CarrierError as err:
            return batch_failure(numbers, err)
        return answer_results("cainiao", numbers, exchange, parse)
