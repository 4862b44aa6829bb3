"""The carrier contract: metadata, the adapter protocol and the sandbox renderer protocol."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal, Protocol, TypeVar

from pydantic import BaseModel, ValidationError

from carriers.shapes import plain_problem
from tracking.core.config import CarrierSettings
from tracking.core.domain import CarrierFailure, ErrorKind, Exchange, NumberResult, TrackResult
from tracking.core.exceptions import BadPayloadError, CarrierError, CarrierServerError

if TYPE_CHECKING:
    from carriers.http import CarrierHttp
    from tracking.sandbox.world import SimShipment

__all__ = [
    "CarrierAdapter",
    "CarrierInfo",
    "CarrierSandbox",
    "ParseOutput",
    "RateLimit",
    "SandboxErrorKind",
    "SandboxReply",
    "SandboxRequest",
    "answer_results",
    "batch_failure",
    "batch_results",
    "http_status_error",
    "json_object",
    "shape_error",
    "validate_json_body",
    "validate_object",
]

ParseOutput = dict[str, TrackResult | CarrierFailure]
"""What a parser returns: per tracking number, a result or a typed failure."""

M = TypeVar("M", bound=BaseModel)


def json_object(body: bytes | str, *, carrier: str) -> dict[str, Any]:
    """The body's top-level JSON object; a `BadPayloadError` naming `carrier` otherwise."""
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BadPayloadError(f"{carrier}: body is not JSON ({exc})", carrier=carrier) from None
    if not isinstance(data, dict):
        raise BadPayloadError(f"{carrier}: body is not a JSON object", carrier=carrier)
    return data


def shape_error(exc: ValidationError, *, carrier: str) -> BadPayloadError:
    """What a validation failure of a carrier's payload model means: where, and how many."""
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first["loc"])
    return BadPayloadError(
        f"{carrier}: unexpected shape ({exc.error_count()} problems: "
        f"{where or 'the body'}: {plain_problem(first['type'])})",
        carrier=carrier,
    )


def validate_object(model: type[M], data: dict[str, Any], *, carrier: str) -> M:
    """`data` as `model`, or the `shape_error` saying what does not fit."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise shape_error(exc, carrier=carrier) from None


def validate_json_body(model: type[M], body: bytes) -> M | None:
    """`body` read straight into `model` by pydantic's JSON parser, or None.

    The fast path for well-formed answers: no intermediate Python objects. None for anything
    else (a byte-order mark, another encoding, not JSON, another shape), so that the parser's
    own slower path can say precisely what is wrong with the body.
    """
    if body.startswith(b"\xef\xbb\xbf"):
        return None
    try:
        return model.model_validate_json(body)
    except ValidationError:
        return None


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
        self,
        request: SandboxRequest,
        shipments: Sequence[tuple[str, SimShipment | None]],
        *,
        now: datetime,
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
    * **create** - builds the adapter from settings and the shared HTTP layer.
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
    create: Callable[[CarrierSettings, CarrierHttp], CarrierAdapter]
    parse: Callable[..., ParseOutput]
    sandbox: CarrierSandbox | None = None
    number_patterns: tuple[re.Pattern[str], ...] = field(default=())
    make_number: Callable[[int], str] | None = None

    def public_url(self, number: str) -> str:
        return self.tracking_url.format(number=number)


def batch_failure(
    numbers: Sequence[str], error: CarrierError, *, exchange: Exchange | None = None
) -> list[NumberResult]:
    """Every number of a batch fails with the batch's typed error, its exchange kept.

    `exchange` is the answer that showed the error (when the error did not carry one).
    """
    if exchange is not None:
        error.exchange = exchange
    exchanges = (error.exchange,) if error.exchange is not None else ()
    retry_at = getattr(error, "retry_at", None)
    return [
        NumberResult(n, exchanges, CarrierFailure(n, error.kind, str(error), retry_at))
        for n in numbers
    ]


def http_status_error(carrier: str, exchange: Exchange) -> CarrierError | None:
    """A carrier error for an HTTP error status the shared layer passes through (400, 404...).

    Without a readable error envelope such an answer is a carrier error, not a bad payload.
    """
    if exchange.status < 400:
        return None
    return CarrierServerError(
        f"{carrier}: HTTP {exchange.status}", carrier=carrier, status=exchange.status
    )


def answer_results(
    carrier: str,
    numbers: Sequence[str],
    exchange: Exchange,
    parse: Callable[..., ParseOutput],
) -> list[NumberResult]:
    """Per-number results of one carrier answer, its exchange kept on every one.

    An unreadable body under an HTTP error status is a carrier error, not a bad payload; an
    error envelope fails the whole batch; otherwise each number gets its result.
    """
    try:
        parsed = parse(exchange.body, requested=numbers)
    except BadPayloadError as err:
        return batch_failure(
            numbers, http_status_error(carrier, exchange) or err, exchange=exchange
        )
    except CarrierError as err:
        return batch_failure(numbers, err, exchange=exchange)
    if (error := http_status_error(carrier, exchange)) is not None:
        return batch_failure(numbers, error, exchange=exchange)
    return batch_results(numbers, exchange, parsed)


def batch_results(
    numbers: Sequence[str],
    exchange: Exchange,
    parsed: ParseOutput,
) -> list[NumberResult]:
    """One result per requested number; a number the response does not mention is not found."""
    results: list[NumberResult] = []
    for number in numbers:
        outcome = parsed.get(number)
        if outcome is None:
            outcome = CarrierFailure(number, ErrorKind.NOT_FOUND, "not in the carrier's answer")
        results.append(NumberResult(number, (exchange,), outcome))
    return results
