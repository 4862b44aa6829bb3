"""Pure parser of Yanwen's `api/tracking` answer (bytes in, per-number results out).

The envelope is `{"code": 0, "message": "success", "result": [...], "elapsedMilliseconds"}`;
each result item has `tracking_number`, `tracking_status` (the latest checkpoint code, or
`NOTFOUND`), `last_mile_tracking_expected` and `checkpoints`. A checkpoint's `time_stamp` has
no offset; its `time_zone` (`"+8"`, `"-5"`, `"+5:30"`) gives it (carrier-apis §2 finding 2).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime, timedelta, timezone

from pydantic import BaseModel, ConfigDict

from carriers.base import ParseOutput
from carriers.kit.envelopes import envelope_error, json_object, validate_json_body, validate_object
from carriers.kit.matching import Requested
from carriers.kit.outcomes import not_found
from carriers.kit.tables import StatusRow, read_table
from carriers.shapes import loud
from tracking.core.countries import CHINA_OFFSET, CHINA_TZ
from tracking.core.domain import (
    FINAL_STAGES,
    CarrierFailure,
    LegRef,
    ParsedEvent,
    Stage,
    TimeSource,
    TrackResult,
)
from tracking.core.exceptions import BadPayloadError, CarrierError
from tracking.core.numbers import normalize_number

__all__ = [
    "HANDOVER_CODE",
    "NOT_FOUND_STATUS",
    "STAGE_MAP",
    "STATUSES",
    "YanwenStatus",
    "parse",
    "parse_time_zone",
    "stage_of",
]


class YanwenStatus(StatusRow):
    """A row of `statuses.toml`; `chinese`: the sandbox writes the code in Chinese."""

    chinese: bool = False


STATUSES = read_table("carriers.yanwen", YanwenStatus)
"""Yanwen's checkpoint codes (`statuses.toml`, carrier-apis §7 and §12)."""

STAGE_MAP: dict[str, Stage] = STATUSES.stage_map
"""Yanwen checkpoint `tracking_status` -> stage."""

NOT_FOUND_STATUS = "NOTFOUND"
"""The item-level `tracking_status` of a number Yanwen does not know."""

HANDOVER_CODE = "SC40"
"""The checkpoint that hands the parcel to the destination carrier under a new number."""

_TIME_ZONE = re.compile(
    r"(?:UTC|GMT)?\s*([+-]?)\s*(\d{1,2})(?:(?::?(\d{2}))|(?:\.(\d{1,2})))?", re.IGNORECASE
)
# A last-mile number named in a hand-over message. The wording is the sandbox's; real SC40
# texts are not known [unverified].
_NEW_NUMBER = re.compile(
    r"(?:新单号|新运单号|转单号|末端单号|new tracking (?:number|no\.?)"
    r"|last[- ]mile (?:tracking )?(?:number|no\.?))\s*[:：]?\s*([A-Za-z0-9]{8,40})",
    re.IGNORECASE,
)
_AUTH_CODES = frozenset({"401", "403"})
_RATE_LIMIT_CODES = frozenset({"429"})
_AUTH_MARKERS = (
    "authori",
    "customer number",
    "credential",
    "forbidden",
    "token",
    "授权",
    "认证",
    "客户号",
    "客户编号",
    "权限",
)
_RATE_LIMIT_MARKERS = ("too many", "rate limit", "frequen", "频繁", "限流")


def stage_of(code: str) -> Stage:
    """The stage of a checkpoint code; `Stage.UNKNOWN` when it is not understood."""
    return STAGE_MAP.get(code.strip().upper(), Stage.UNKNOWN)


def parse_time_zone(text: str | None) -> int | None:
    """Minutes east of UTC of a `time_zone` (`+8`, `-5`, `+5:30`, `+0530`); None if odd.

    A bare number is east of UTC (`8` is `+8`); decimal hours (`5.5`) are read too.
    """
    match = _TIME_ZONE.fullmatch((text or "").strip())
    if match is None:
        return None
    sign, hours, minutes, fraction = match.groups()
    total = int(hours) * 60
    if minutes is not None:
        if int(minutes) >= 60:
            return None
        total += int(minutes)
    elif fraction is not None:
        total += round(float(f"0.{fraction}") * 60)
    if total > 14 * 60:
        return None
    return -total if sign == "-" else total


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore")


class _Checkpoint(_Model):
    time_stamp: str | None = None
    time_zone: str | int | float | None = None
    tracking_status: str | None = None
    message: str | None = None
    location: str | None = None


class _Item(_Model):
    tracking_number: str
    tracking_status: str | None = None
    last_mile_tracking_expected: bool | None = None
    # Not in the one known payload: the field under which the sandbox reveals the
    # last-mile number, named after `last_mile_tracking_expected` [unverified].
    last_mile_tracking_number: str | None = None
    last_mile_carrier: str | None = None
    checkpoints: list[_Checkpoint] | None = None


class _Envelope(_Model):
    code: int | str | None = None
    message: str | None = None
    result: list[_Item] | None = None


@loud("yanwen")
def parse(body: bytes, *, requested: Sequence[str] = ()) -> ParseOutput:
    """Read one `api/tracking` body: per tracking number, a result or a typed failure.

    **Parameters:**

    * **body** - the raw response body.
    * **requested** - the numbers asked for; an item whose `tracking_number` differs from one
      only in case or spacing is filed under the requested spelling.

    Raises `BadPayloadError` for a body without Yanwen's shape, and the matching
    `CarrierError` for an envelope whose `code` is not 0.
    """
    envelope = validate_json_body(_Envelope, body) or _slow_envelope(body)
    if envelope.code is None:
        raise BadPayloadError("yanwen: no `code` in the body", carrier="yanwen")
    if str(envelope.code).strip() != "0":
        raise _envelope_error(str(envelope.code).strip(), envelope.message or "")
    if envelope.result is None:
        raise BadPayloadError("yanwen: no `result` list in the body", carrier="yanwen")
    spelling = Requested(requested)
    output: ParseOutput = {}
    for item in envelope.result:
        number = spelling.spelling(item.tracking_number)
        output[number] = _outcome(number, item)
    return output


def _outcome(number: str, item: _Item) -> TrackResult | CarrierFailure:
    status = (item.tracking_status or "").strip()
    if status.upper() == NOT_FOUND_STATUS:
        return not_found(number, f"Yanwen has no record of it ({NOT_FOUND_STATUS})")
    # Kept in the carrier's order (oldest first in the sandbox; one real checkpoint known).
    events = tuple(_event(c) for c in item.checkpoints or ())
    final = any(e.stage in FINAL_STAGES for e in events) or stage_of(status) in FINAL_STAGES
    return TrackResult(
        tracking_number=number,
        events=events,
        final=final,
        legs=_legs(number, item),
        carrier_status=status,
    )


def _event(raw: _Checkpoint) -> ParsedEvent:
    code = (raw.tracking_status or "").strip()
    zone = _zone_text(raw.time_zone)
    occurred_at, offset, source = _when(raw, zone)
    return ParsedEvent(
        stage=stage_of(code),
        code=code,
        description=(raw.message or "").strip(),
        occurred_at=occurred_at,
        local_offset=offset,
        time_source=source,
        location=(raw.location or "").strip(),
        # The current API names no country, per event or per item.
        country=None,
        raw_time=f"{(raw.time_stamp or '').strip()} {zone}".strip(),
    )


def _zone_text(value: str | int | float | None) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value.strip()
    return f"{value:+g}"


def _when(raw: _Checkpoint, zone: str) -> tuple[datetime, int | None, TimeSource]:
    """Instant, local offset and its source of a checkpoint.

    * an offset inside `time_stamp` itself (the legacy API's style) is explicit;
    * otherwise `time_zone` gives the offset, explicitly;
    * no `time_zone`: Beijing time, Yanwen's convention (the legacy API normalised every
      time to +08:00);
    * a `time_zone` that cannot be read: the instant is still taken at Beijing time (the
      best guess) but the offset is reported unknown, so the validator warns.
    """
    text = (raw.time_stamp or "").strip()
    try:
        stamp = datetime.fromisoformat(text)
    except ValueError:
        raise BadPayloadError(
            f"yanwen: checkpoint {raw.tracking_status!r} has no readable time_stamp ({text!r})",
            carrier="yanwen",
        ) from None
    if stamp.tzinfo is not None and (delta := stamp.utcoffset()) is not None:
        return stamp, int(delta.total_seconds() // 60), TimeSource.EXPLICIT
    if not zone:  # no `time_zone`: Beijing time, as Yanwen writes
        return stamp.replace(tzinfo=CHINA_TZ), CHINA_OFFSET, TimeSource.CARRIER_CONVENTION
    minutes = parse_time_zone(zone)
    if minutes is None:
        return stamp.replace(tzinfo=CHINA_TZ), None, TimeSource.UNKNOWN
    return stamp.replace(tzinfo=timezone(timedelta(minutes=minutes))), minutes, TimeSource.EXPLICIT


def _legs(number: str, item: _Item) -> tuple[LegRef, ...]:
    """Last-mile numbers: the item's `last_mile_tracking_number`, or one named by SC40."""
    carrier_name = (item.last_mile_carrier or "").strip()
    candidates = [item.last_mile_tracking_number or ""]
    for checkpoint in item.checkpoints or ():
        if (checkpoint.tracking_status or "").strip().upper() != HANDOVER_CODE:
            continue
        if (match := _NEW_NUMBER.search(checkpoint.message or "")) is not None:
            candidates.append(match.group(1))
    legs: list[LegRef] = []
    seen = {normalize_number(number)}
    for candidate in candidates:
        leg = normalize_number(candidate)
        if not leg or leg in seen:
            continue
        seen.add(leg)
        legs.append(LegRef(tracking_number=leg, carrier_name=carrier_name))
    return tuple(legs)


def _slow_envelope(body: bytes) -> _Envelope:
    """The envelope through `json` first, to say what is wrong with a bad body."""
    return validate_object(_Envelope, json_object(body, carrier="yanwen"), carrier="yanwen")


def _envelope_error(code: str, message: str) -> CarrierError:
    """The error of a non-zero `code`. Yanwen's error codes are not documented: HTTP-like
    codes and the message's wording decide [unverified]."""
    text = f"yanwen: error envelope code {code}: {message.strip() or '(no message)'}"
    folded = message.casefold()
    return envelope_error(
        "yanwen",
        text,
        rate_limited=code in _RATE_LIMIT_CODES or any(m in folded for m in _RATE_LIMIT_MARKERS),
        refused=code in _AUTH_CODES or any(m in folded for m in _AUTH_MARKERS),
    )
