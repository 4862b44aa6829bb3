"""Pure parser of Cainiao's `global/detail.json` answer (bytes in, per-number results out)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from carriers.base import ParseOutput
from carriers.kit.envelopes import (
    CamelModel,
    envelope_error,
    json_object,
    validate_json_body,
    validate_object,
)
from carriers.kit.matching import Requested
from carriers.kit.outcomes import not_found, side_country
from carriers.kit.tables import StatusRow, read_table
from carriers.shapes import loud
from tracking.core.countries import to_iso2
from tracking.core.domain import (
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
    "FINAL_STATUSES",
    "STAGE_MAP",
    "STATUSES",
    "CainiaoStatus",
    "parse",
    "parse_time_zone",
    "stage_of",
]


class CainiaoStatus(StatusRow):
    """A row of `statuses.toml`: the sandbox's `standerdDesc` and the event's `group`."""

    standard: str = ""
    group: str = ""
    group_text: str = ""


STATUSES = read_table("carriers.cainiao", CainiaoStatus)
"""Cainiao's `actionCode` values (`statuses.toml`, carrier-apis §3.1)."""

STAGE_MAP: dict[str, Stage] = STATUSES.stage_map
"""Cainiao `actionCode` -> stage (carrier-apis §3). Codes containing RETURN: see `stage_of`."""

_PREFIX_STAGES: tuple[tuple[str, Stage], ...] = (("TD_TRANS_", Stage.DESTINATION_FACILITY),)

FINAL_STATUSES: frozenset[str] = frozenset({"DELIVERED"})
"""Module `status` values that end tracking on their own (the only one seen in real data)."""


_TIME_ZONE = re.compile(
    r"(?:GMT|UTC)|(?:GMT|UTC)?\s*([+-])\s*(\d{1,2})(?::?(\d{2}))?", re.IGNORECASE
)
_LOCATION = re.compile(r"^\s*\[([^\]]+)\]")
_RATE_LIMIT_MARKERS = ("LIMIT", "FLOW", "FREQ", "TOO_MANY")
_AUTH_MARKERS = ("AUTH", "PERMISSION", "DENIED", "FORBIDDEN", "CAPTCHA", "PUNISH")


def stage_of(code: str) -> Stage:
    """The stage of an `actionCode`; `Stage.UNKNOWN` when it is not understood.

    Rule for returns (no real Cainiao return payload is known): a code containing RETURN is
    `returned` when it also contains SIGN (the sender signed for it, e.g. `GTMS_RETURN_SIGNED`)
    and `returning` otherwise, so an unclear return code keeps the parcel being polled.
    """
    key = code.strip().upper()
    if key in STAGE_MAP:
        return STAGE_MAP[key]
    if "RETURN" in key:
        return Stage.RETURNED if "SIGN" in key else Stage.RETURNING
    for prefix, stage in _PREFIX_STAGES:
        if key.startswith(prefix):
            return stage
    return Stage.UNKNOWN


def parse_time_zone(text: str | None) -> int | None:
    """Minutes east of UTC of a Cainiao `timeZone` (`GMT+8`, `GMT+08:00`, `GMT-5`); None if odd."""
    match = _TIME_ZONE.fullmatch((text or "").strip())
    if match is None:
        return None
    sign, hours, minutes = match.groups()
    if sign is None:  # a bare "GMT" or "UTC"
        return 0
    if int(hours) > 14 or int(minutes or 0) >= 60:
        return None
    total = int(hours) * 60 + int(minutes or 0)
    return -total if sign == "-" else total


class _Event(CamelModel):
    time: int | None = None
    time_str: str | None = None
    time_zone: str | None = None
    desc: str | None = None
    standerd_desc: str | None = None  # sic: Cainiao's spelling
    action_code: str | None = None


class _CpInfo(CamelModel):
    cp_name: str | None = None


class _Module(CamelModel):
    mail_no: str
    mail_no_source: str | None = None
    origin_country: str | None = None
    dest_country: str | None = None
    status: str | None = None
    dest_cp_info: _CpInfo | None = None
    real_mail_no: str | None = None
    copy_real_mail_no: str | None = None
    detail_list: list[_Event] | None = None


class _Envelope(CamelModel):
    success: bool | None = None
    module: list[_Module] | None = None


@loud("cainiao")
def parse(body: bytes, *, requested: Sequence[str] = ()) -> ParseOutput:
    """Read one `global/detail.json` body: per tracking number, a result or a typed failure.

    **Parameters:**

    * **body** - the raw response body.
    * **requested** - the numbers asked for; a module whose `mailNo` differs from one only in
      case or spacing is filed under the requested spelling.

    Raises `BadPayloadError` for a body without Cainiao's shape, and the matching
    `CarrierError` for a `success: false` envelope.
    """
    envelope = validate_json_body(_Envelope, body)
    if envelope is None or envelope.success is False:
        envelope = _slow_envelope(body)
    if envelope.module is None:
        raise BadPayloadError("cainiao: no `module` list in the body", carrier="cainiao")
    spelling = Requested(requested)
    output: ParseOutput = {}
    for module in envelope.module:
        number = spelling.spelling(module.mail_no)
        output[number] = _outcome(number, module)
    return output


def _slow_envelope(body: bytes) -> _Envelope:
    """The envelope through `json` first: error envelopes and bad bodies explained."""
    data = json_object(body, carrier="cainiao")
    if data.get("success") is False:
        raise _envelope_error(data)
    return validate_object(_Envelope, data, carrier="cainiao")


def _outcome(number: str, module: _Module) -> TrackResult | CarrierFailure:
    details = module.detail_list or []
    if not details and not module.status:
        source = module.mail_no_source or "none"
        return not_found(number, f"Cainiao has no record of it (mailNoSource {source})")
    origin = to_iso2(module.origin_country)
    destination = to_iso2(module.dest_country)
    # `detailList` is newest first; reversed, not re-sorted: the carrier's order is evidence.
    events = tuple(_event(e, origin=origin, destination=destination) for e in reversed(details))
    status = (module.status or "").strip()
    return TrackResult(
        tracking_number=number,
        events=events,
        final=_final(status, events),
        legs=_legs(module),
        origin_country=origin,
        destination_country=destination,
        carrier_status=status,
    )


def _final(status: str, events: Sequence[ParsedEvent]) -> bool:
    """Delivered or returned by an event, or by a final `status`.

    A final status does not count while the newest event is a pickup-point acceptance: if
    Cainiao ever reported such a parcel as DELIVERED, polling would stop before the real
    GTMS_SIGNED arrived, and the delivered milestone would never be proven.
    """
    if any(e.stage in (Stage.DELIVERED, Stage.RETURNED) for e in events):
        return True
    newest = max(reversed(events), key=lambda e: e.occurred_at, default=None)
    waiting = newest is not None and newest.stage is Stage.AVAILABLE_FOR_PICKUP
    return status.upper() in FINAL_STATUSES and not waiting


def _event(raw: _Event, *, origin: str | None, destination: str | None) -> ParsedEvent:
    code = (raw.action_code or "").strip()
    stage = stage_of(code)
    offset = parse_time_zone(raw.time_zone)
    standard = raw.standerd_desc or ""
    location = _LOCATION.match(standard)
    country = side_country(stage, origin=origin, destination=destination)
    return ParsedEvent(
        stage=stage,
        code=code,
        description=raw.desc if raw.desc and raw.desc.strip() else standard,
        occurred_at=_instant(raw),
        local_offset=offset,
        time_source=TimeSource.UNKNOWN if offset is None else TimeSource.EXPLICIT,
        location=location.group(1).strip() if location else "",
        country=country,
        raw_time=f"{raw.time_str or ''} {raw.time_zone or ''}".strip(),
    )


def _instant(raw: _Event) -> datetime:
    """The event's instant: epoch-ms `time`; `timeStr` is always UTC+8 (carrier-apis finding 3)."""
    if raw.time is not None:
        return datetime.fromtimestamp(raw.time / 1000, tz=UTC)
    if raw.time_str:
        try:
            return datetime.strptime(f"{raw.time_str.strip()} +0800", "%Y-%m-%d %H:%M:%S %z")
        except ValueError:
            pass
    raise BadPayloadError(
        f"cainiao: event {raw.action_code!r} has neither `time` nor a readable `timeStr`",
        carrier="cainiao",
    )


def _legs(module: _Module) -> tuple[LegRef, ...]:
    carrier_name = module.dest_cp_info.cp_name if module.dest_cp_info else None
    legs: list[LegRef] = []
    seen = {normalize_number(module.mail_no)}
    for candidate in (module.real_mail_no, module.copy_real_mail_no):
        # One client's fixture shows "PostNL 3S..." in realMailNo: a number has no spaces,
        # so the last word is the number [clients].
        words = (candidate or "").split()
        if not words or normalize_number(words[-1]) in seen:
            continue
        seen.add(normalize_number(words[-1]))
        legs.append(LegRef(tracking_number=words[-1], carrier_name=carrier_name or ""))
    return tuple(legs)


def _envelope_error(data: Mapping[str, Any]) -> CarrierError:
    code = _first_text(data, ("errorCode", "errCode", "code", "error"))
    message = _first_text(data, ("errorMsg", "errorMessage", "errMsg", "msg", "message"))
    text = f"cainiao: error envelope {code or '(no code)'}: {message or '(no message)'}"
    marker = code.upper()
    return envelope_error(
        "cainiao",
        text,
        rate_limited=any(m in marker for m in _RATE_LIMIT_MARKERS),
        refused=any(m in marker for m in _AUTH_MARKERS),
    )


def _first_text(data: Mapping[str, Any], keys: Sequence[str]) -> str:
    for key in keys:
        value = data.get(key)
        if isinstance(value, str | int) and str(value).strip():
            return str(value).strip()
    return ""
