"""Pure parser of YunExpress classic `Tracking/GetTrackInfo` responses (carrier-apis §4.1).

Two envelopes exist: the newer `{Item, Code, Message, RequestId, TimeStamp}` and the older
LMS `{ResultCode, ResultDesc, Item}`; routing and server errors come in the ASP.NET
`{Message, MessageDetail}` shape. Events are free text with naive China-time dates; a
`TrackNodeCode`, when present, decides the stage through `STAGE_MAP`, otherwise the text
classifier does.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from carriers.base import ParseOutput
from carriers.kit.matching import same_number
from carriers.kit.outcomes import side_country
from carriers.kit.tables import StatusRow, read_table
from carriers.shapes import plain_problem
from carriers.textstage import classify
from tracking.core.countries import CHINA_OFFSET, CHINA_TZ, to_iso2
from tracking.core.domain import (
    FINAL_STAGES,
    CarrierFailure,
    ErrorKind,
    LegRef,
    ParsedEvent,
    Stage,
    TimeSource,
    TrackResult,
)
from tracking.core.exceptions import (
    AuthError,
    BadPayloadError,
    CarrierServerError,
    RateLimitedError,
)

__all__ = [
    "AUTH_CODES",
    "FINAL_PACKAGE_STATES",
    "STAGE_MAP",
    "json_dict",
    "node_event",
    "parse",
]

CODE = "yunexpress"

STAGE_MAP: dict[str, Stage] = read_table("carriers.yunexpress", StatusRow).stage_map
"""`TrackNodeCode` -> stage (`statuses.toml`, carrier-apis §4.2); codes not listed are read
from `ProcessContent`."""

FINAL_PACKAGE_STATES: frozenset[int] = frozenset({3, 7})
"""`PackageState` 3 (delivered) and 7 (returned): every source agrees on these two."""

AUTH_CODES: frozenset[str] = frozenset({"401", "1002", "1003"})
"""Expired token (laradocs), wrong UserID/ApiKey, signature error."""

_RATE_LIMITED = "10000"
_NOT_FOUND = "1006"
_SUCCESS = "0000"
_INVALID_CODES = frozenset({"1004", *(str(n) for n in range(2001, 2030))})


_ORIGIN_COUNTRY = "CN"


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", coerce_numbers_to_str=True)


class _Detail(_Model):
    ProcessDate: str
    ProcessContent: str | None = None
    ProcessLocation: str | None = None
    TrackingStatus: int | None = None
    TrackNodeCode: str | None = None
    ProcessCountry: str | None = None


class _Item(_Model):
    CountryCode: str | None = None
    WaybillNumber: str | None = None
    TrackingNumber: str | None = None
    CarrierName: str | None = None
    PackageState: int | None = None
    TrackingStatus: int | None = None
    IntervalDays: float | None = None
    OrderTrackingDetails: list[_Detail] | None = None


class _Envelope(_Model):
    Code: str | None = None
    ResultCode: str | None = None
    Message: str | None = None
    ResultDesc: str | None = None
    MessageDetail: str | None = None
    Item: _Item | None = None


def parse(body: bytes, *, requested: Sequence[str] = ()) -> ParseOutput:
    """Read one `GetTrackInfo` response body.

    **Parameters:**

    * **body** - the raw response body.
    * **requested** - the `OrderNumber`(s) asked for; results are keyed by them.

    Raises `AuthError` (codes 401, 1002, 1003), `RateLimitedError` (10000),
    `CarrierServerError` (other error codes, ASP.NET errors) and `BadPayloadError`
    (not JSON, or not this shape). Unknown numbers and invalid numbers come back as
    `CarrierFailure`s.
    """
    envelope = _envelope(body)
    code = (envelope.Code or envelope.ResultCode or "").strip()
    message = (envelope.Message or envelope.ResultDesc or "").strip()
    if not code:
        if envelope.Message is not None:
            detail = f" ({envelope.MessageDetail})" if envelope.MessageDetail else ""
            raise CarrierServerError(f"{CODE}: {envelope.Message}{detail}", carrier=CODE)
        raise BadPayloadError(f"{CODE}: no Code or ResultCode in the response", carrier=CODE)
    if code in AUTH_CODES:
        raise AuthError(f"{CODE}: credentials refused (code {code}: {message})", carrier=CODE)
    if code == _RATE_LIMITED:
        raise RateLimitedError(f"{CODE}: too many requests (code {code})", carrier=CODE)
    if code == _NOT_FOUND or (code == _SUCCESS and envelope.Item is None):
        return _failures(requested, ErrorKind.NOT_FOUND, f"YunExpress has no data (code {code})")
    if code in _INVALID_CODES:
        text = f"YunExpress rejected the number (code {code}: {message})"
        return _failures(requested, ErrorKind.INVALID_NUMBER, text)
    if code != _SUCCESS or envelope.Item is None:
        raise CarrierServerError(f"{CODE}: error code {code}: {message}", carrier=CODE)
    number = _owner(requested, envelope.Item)
    return {number: _result(number, envelope.Item)}


def json_dict(body: bytes) -> dict[str, Any]:
    """The body's top-level JSON object (a BOM allowed), as both YunExpress APIs send it."""
    try:
        data = json.loads(body.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BadPayloadError(f"{CODE}: body is not JSON: {exc}", carrier=CODE) from None
    if not isinstance(data, dict):
        raise BadPayloadError(f"{CODE}: body is not a JSON object", carrier=CODE)
    return data


def _envelope(body: bytes) -> _Envelope:
    # No `validate_json_body` fast path here: these models coerce numbers to strings, and
    # pydantic's JSON mode spells floats differently from str() (1.0 -> "1", not "1.0").
    try:
        return _Envelope.model_validate(json_dict(body))
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise BadPayloadError(
            f"{CODE}: unexpected shape at {where}: {plain_problem(first['type'])}", carrier=CODE
        ) from None


def _failures(requested: Sequence[str], kind: ErrorKind, message: str) -> ParseOutput:
    return {number: CarrierFailure(number, kind, message) for number in requested}


def _owner(requested: Sequence[str], item: _Item) -> str:
    """The requested number this `Item` answers (GetTrackInfo takes one number)."""
    if len(requested) == 1:
        return requested[0]
    for number in requested:
        if same_number(number, item.WaybillNumber) or same_number(number, item.TrackingNumber):
            return number
    if item.WaybillNumber:
        return item.WaybillNumber
    raise BadPayloadError(f"{CODE}: the answer names no number", carrier=CODE)


def _result(number: str, item: _Item) -> TrackResult:
    destination = to_iso2(item.CountryCode)
    events = tuple(
        _event(detail, destination=destination) for detail in item.OrderTrackingDetails or ()
    )
    final = item.PackageState in FINAL_PACKAGE_STATES or any(
        e.stage in FINAL_STAGES for e in events
    )
    return TrackResult(
        tracking_number=number,
        events=events,
        final=final,
        legs=_legs(item),
        origin_country=_ORIGIN_COUNTRY,
        destination_country=destination,
        carrier_status=f"PackageState={item.PackageState}" if item.PackageState is not None else "",
    )


def _event(detail: _Detail, *, destination: str | None) -> ParsedEvent:
    return node_event(
        (detail.TrackNodeCode or "").strip(),
        (detail.ProcessContent or "").strip(),
        _instant(detail.ProcessDate),
        location=(detail.ProcessLocation or "").strip(),
        raw_time=detail.ProcessDate,
        country=to_iso2(detail.ProcessCountry),
        destination=destination,
    )


def node_event(
    node: str,
    text: str,
    instant: tuple[datetime, int | None, TimeSource],
    *,
    location: str,
    raw_time: str,
    country: str | None = None,
    destination: str | None = None,
) -> ParsedEvent:
    """One event of either YunExpress API: its track node code decides the stage, else its
    text does. Without an explicit `country`, the stage's side gives one: China at the
    origin, `destination` at the destination."""
    stage = STAGE_MAP.get(node.upper()) or classify(text)
    occurred_at, offset, source = instant
    if country is None:
        country = side_country(stage, origin=_ORIGIN_COUNTRY, destination=destination)
    return ParsedEvent(
        stage=stage,
        code=node,
        description=text,
        occurred_at=occurred_at,
        local_offset=offset,
        time_source=source,
        location=location,
        country=country,
        raw_time=raw_time,
    )


def _instant(raw: str) -> tuple[datetime, int, TimeSource]:
    """UTC instant, local offset and its source for a `ProcessDate`."""
    try:
        moment = datetime.fromisoformat(raw.strip())
    except ValueError:
        raise BadPayloadError(f"{CODE}: ProcessDate {raw!r} is not a date", carrier=CODE) from None
    offset = moment.utcoffset()
    if offset is None:  # YunExpress writes China time (UTC+8) without an offset
        return moment.replace(tzinfo=CHINA_TZ), CHINA_OFFSET, TimeSource.CARRIER_CONVENTION
    return moment, int(offset.total_seconds() // 60), TimeSource.EXPLICIT


def _legs(item: _Item) -> tuple[LegRef, ...]:
    last_mile = (item.TrackingNumber or "").strip()
    if not last_mile or same_number(last_mile, item.WaybillNumber):
        return ()
    return (LegRef(last_mile, carrier_name=(item.CarrierName or "").strip()),)
