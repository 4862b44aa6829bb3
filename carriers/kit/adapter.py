"""The state every HTTP adapter shares: its settings, the HTTP layer, base URL, batch size."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, ClassVar, Generic, TypeVar

from tracking.core.config import CarrierSettings

if TYPE_CHECKING:
    from carriers.http import CarrierHttp

__all__ = ["HttpAdapter"]

S = TypeVar("S", bound=CarrierSettings)


class HttpAdapter(Generic[S]):
    """Base of a carrier's adapter; `carriers.kit.create_adapter` builds every one.

    **Parameters:**

    * **settings** - the carrier's settings (its own `CarrierSettings` subclass).
    * **http** - the shared HTTP layer (rate limit, retries, redaction).
    * **base_url** - where the carrier's API is (settings' `base_url`, else the default).
    * **batch_size** - the most numbers one `track` call may take.
    """

    code: ClassVar[str]
    """The carrier's code, for the messages a user reads."""

    def __init__(
        self, settings: S, http: CarrierHttp, /, *, base_url: str, batch_size: int
    ) -> None:
        self.settings = settings
        self.http = http
        self.base_url = base_url.rstrip("/")
        self.batch_size = batch_size

    def check_batch(self, numbers: Sequence[str]) -> None:
        """`ValueError` for more numbers than one call takes, before anything is sent."""
        if len(numbers) > self.batch_size:
            raise ValueError(f"{self.code} takes at most {self.batch_size} numbers a call")
