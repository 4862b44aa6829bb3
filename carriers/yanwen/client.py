"""Yanwen network client: one GET of `/api/tracking` per batch of comma-joined numbers."""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import SecretStr
from pydantic_settings import SettingsConfigDict

from carriers.kit.adapter import HttpAdapter
from carriers.kit.envelopes import answer_results, batch_failure
from carriers.yanwen.parse import parse
from tracking.core.config import CarrierSettings
from tracking.core.domain import NumberResult
from tracking.core.exceptions import AuthError, CarrierError

__all__ = ["TRACKING_PATH", "YanwenAdapter", "YanwenSettings"]

TRACKING_PATH = "/api/tracking"


class YanwenSettings(CarrierSettings):
    """Yanwen settings.

    **Parameters:**

    * **customer_number** - the Yanwen customer number; the API takes it, raw and without a
      scheme, as the `Authorization` header.
    """

    model_config = SettingsConfigDict(env_prefix="TRACK_EVIDENCE_YANWEN__", extra="ignore")

    customer_number: SecretStr | None = None


class YanwenAdapter(HttpAdapter[YanwenSettings]):
    """Tracks batches of numbers through Yanwen's `api/tracking` endpoint."""

    code = "yanwen"

    async def track(self, numbers: Sequence[str]) -> list[NumberResult]:
        """One result per number, in order; a whole-batch failure fails every number.

        Without a customer number nothing is sent: every number fails with `auth`.
        """
        if not numbers:
            return []
        self.check_batch(numbers)
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
