"""Error envelopes and answers: a carrier's body read into per-number results, errors as data.

One number's problem never fails its batch; a whole-batch failure (auth, transport after
retries, an error envelope) becomes the same typed `CarrierFailure` for every number, the
exchange that showed it kept with each, so the evidence of the failure is stored too.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError
from pydantic.alias_generators import to_camel

from carriers.base import ParseOutput
from carriers.kit.outcomes import not_found
from carriers.shapes import plain_problem
from tracking.core.domain import CarrierFailure, Exchange, NumberResult
from tracking.core.exceptions import (
    AuthError,
    BadPayloadError,
    CarrierError,
    CarrierServerError,
    RateLimitedError,
)

__all__ = [
    "CamelModel",
    "answer_error",
    "answer_results",
    "batch_failure",
    "batch_results",
    "envelope_error",
    "http_status_error",
    "json_object",
    "kept_exchanges",
    "shape_error",
    "validate_json_body",
    "validate_object",
]

M = TypeVar("M", bound=BaseModel)


class CamelModel(BaseModel):
    """A carrier's JSON object whose keys are camelCase (`mailNo` fills `mail_no`); keys the
    model does not name are ignored, so a carrier adding fields breaks nothing."""

    model_config = ConfigDict(extra="ignore", alias_generator=to_camel, populate_by_name=True)


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


def envelope_error(
    carrier: str, text: str, *, rate_limited: bool = False, refused: bool = False
) -> CarrierError:
    """The error an error envelope stands for: too many requests, the credentials refused,
    else the carrier's own failure. An envelope that reads as both is taken as rate limited."""
    if rate_limited:
        return RateLimitedError(text, carrier=carrier)
    if refused:
        return AuthError(text, carrier=carrier)
    return CarrierServerError(text, carrier=carrier)


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
            outcome = not_found(number, "not in the carrier's answer")
        results.append(NumberResult(number, (exchange,), outcome))
    return results


def kept_exchanges(error: CarrierError) -> tuple[Exchange, ...]:
    """The exchange an error carries, as the tuple a `NumberResult` keeps."""
    return (error.exchange,) if error.exchange is not None else ()


def answer_error(carrier: str, exchange: Exchange, error: CarrierError) -> CarrierError:
    """What an unusable answer stands for: its error envelope, else its HTTP error status.

    A body without the carrier's shape under an HTTP error status (a proxy's 404 page) is
    a carrier error, not a bad payload.
    """
    if isinstance(error, BadPayloadError):
        return http_status_error(carrier, exchange) or error
    return error
