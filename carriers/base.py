"""The carrier contract: metadata, the adapter protocol and the sandbox renderer protocol."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal, Protocol

from tracking.core.config import CarrierSettings
from tracking.core.domain import CarrierFailure, NumberResult, TrackResult

if TYPE_CHECKING:
    from carriers.http import CarrierHttp
    from carriers.kit.simulated import AskedShipments

__all__ = [
    "AdapterFactory",
    "CarrierAdapter",
    "CarrierInfo",
    "CarrierSandbox",
    "ParseOutput",
    "RateLimit",
    "SandboxErrorKind",
    "SandboxReply",
    "SandboxRequest",
]

ParseOutput = dict[str, TrackResult | CarrierFailure]
"""What a parser returns: per tracking number, a result or a typed failure."""

SandboxErrorKind = Literal["auth", "rate_limited", "server_error", "bad_request"]


@dataclass(frozen=True, slots=True)
class RateLimit:
    """A carrier's request budget: `requests` per `period` seconds, `concurrency` in flight."""

    requests: float
    period: float = 1.0
    concurrency: int = 4

    @property
    def per_second(self) -> float:
        return self.requests / self.period


class CarrierAdapter(Protocol):
    """One carrier's tracking client, bound to its settings and the shared HTTP layer."""

    async def track(self, numbers: Sequence[str]) -> list[NumberResult]:
        """Fetch a batch (at most the carrier's `batch_size`); one result per number, in order.

        Never raises for a single number's problem; a whole-batch failure (auth, transport
        after retries) becomes a typed `CarrierFailure` for every number of the batch.
        """
        ...


class AdapterFactory(Protocol):
    """Builds a carrier's adapter (an adapter class, or a function choosing one).

    `settings` is the carrier's own settings class (checked by `carriers.kit.create_adapter`);
    `base_url` is the settings' `base_url`, else the carrier's default.
    """

    def __call__(
        self, settings: Any, http: CarrierHttp, /, *, base_url: str, batch_size: int
    ) -> CarrierAdapter: ...


@dataclass(frozen=True, slots=True)
class SandboxRequest:
    """An HTTP request as the sandbox server hands it to a carrier's renderer."""

    method: str
    path: str
    query: Mapping[str, str]
    headers: Mapping[str, str]  # lower-case names
    body: bytes


@dataclass(frozen=True, slots=True)
class SandboxReply:
    """What the sandbox answers, in the carrier's wire format."""

    status: int
    body: bytes
    content_type: str = "application/json; charset=utf-8"
    headers: tuple[tuple[str, str], ...] = ()


class CarrierSandbox(Protocol):
    """Renders simulated shipments in a carrier's real wire format (pure: no I/O)."""

    routes: tuple[tuple[str, str], ...]
    """(method, path) pairs the carrier's real API serves, paths as on the real host."""

    credentials: Mapping[str, str]
    """Settings values (field name -> value) that the sandbox accepts as valid credentials."""

    def authorized(self, request: SandboxRequest) -> bool:
        """Whether the request carries the sandbox credentials in the carrier's auth scheme."""
        ...

    def numbers(self, request: SandboxRequest) -> list[str]:
        """The tracking numbers the request asks for; `ValueError` if it is malformed."""
        ...

    def render(
        self, request: SandboxRequest, shipments: AskedShipments, *, now: datetime
    ) -> SandboxReply:
        """The carrier's answer for these numbers (None: the carrier does not know it)."""
        ...

    def render_error(self, kind: SandboxErrorKind, *, retry_after: int = 1) -> SandboxReply:
        """The carrier's error answer of the given kind."""
        ...


@dataclass(frozen=True, slots=True)
class CarrierInfo:
    """A carrier's registration, the object its entry point names.

    **Parameters:**

    * **code** - stable identifier (`cainiao`, `yunexpress`, `17track`, ...).
    * **name** - display name.
    * **batch_size** - most numbers one `track` call may take.
    * **rate_limit** - the carrier's default request budget.
    * **default_base_url** - the real API's base URL (overridable in settings).
    * **tracking_url** - public tracking page, with `{number}` as the placeholder.
    * **settings_model** - the carrier's settings class (credentials as `SecretStr`).
    * **adapter** - builds the adapter (see `AdapterFactory`); callers use
      `carriers.kit.create_adapter`, which checks the settings' class and picks the base URL.
    * **parse** - pure parser of one raw response body.
    * **sandbox** - the wire-format renderer, if the sandbox serves this carrier.
    * **number_patterns** - regular expressions of the carrier's tracking numbers, matched
      with `fullmatch` against the normalized (upper-case, no spaces) number.
    * **make_number** - the sandbox's number generator (serial -> number in this format).
    """

    code: str
    name: str
    batch_size: int
    rate_limit: RateLimit
    default_base_url: str
    tracking_url: str
    adapter_version: str
    settings_model: type[CarrierSettings]
    adapter: AdapterFactory
    parse: Callable[..., ParseOutput]
    sandbox: CarrierSandbox | None = None
    number_patterns: tuple[re.Pattern[str], ...] = field(default=())
    make_number: Callable[[int], str] | None = None

    def public_url(self, number: str) -> str:
        return self.tracking_url.format(number=number)
