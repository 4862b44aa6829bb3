"""Pure parser of 4PX's `tr.order.tracking.get` answer (bytes in, per-number results out).

Success: `{"result": "1", "msg", "errors": [], "data": {"deliveryOrderNo",
"destinationCountry", "trackingList": [{"businessLinkCode", "occurDatetime",
"occurLocation", "trackingContent"}]}}`, the list newest first. Failure: `{"result": "0",
"msg", "errors": [{"errorCode", "errorMsg"}]}`. `occurDatetime` has no offset and is China
time by convention (carrier-apis §6).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime

from carriers.base import ParseOutput
from carriers.kit.envelopes import CamelModel, json_object, validate_json_body, validate_object
from carriers.kit.matching import Requested, same_number
from carriers.kit.outcomes import not_found, side_country
from carriers.kit.tables import StatusRow, read_table
from carriers.shapes import loud
from carriers.textstage import classify
from tracking.core.countries import CHINA_OFFSET, CHINA_TZ, to_iso2
from tracking.core.domain import (
    FINAL_STAGES,
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
from tracking.core.numbers import normalize_number

__all__ = [
    "AUTH_ERROR_CODES",
    "STAGE_MAP",
    "STATUSES",
    "FourPXStatus",
    "decode_body",
    "parse",
    "repair_mojibake",
    "stage_of",
]


class FourPXStatus(StatusRow):
    """A row of `statuses.toml`."""

    blank_location: bool = False
    """An origin-side code: the sandbox sends it with an empty `occurLocation` on one event
    in four."""


STATUSES = read_table("carriers.fourpx", FourPXStatus)
"""4PX's event codes (`statuses.toml`, carrier-apis §6 and §12)."""

STAGE_MAP: dict[str, Stage] = STATUSES.stage_map
"""4PX `businessLinkCode` -> stage. Code families: see `_PREFIX_STAGES`."""

_PREFIX_STAGES: tuple[tuple[str, Stage], ...] = (
    ("FPX_S_OK", Stage.DELIVERED),  # FPX_S_OK, _OKGP, _OKVP, _OKPO, _OKCC, _OKSC...
    ("FPX_I_HC", Stage.EXCEPTION),  # held in customs
    ("FPX_C_HF", Stage.EXCEPTION),  # held in a 4PX facility [single]
    ("FPX_D_FD", Stage.DELIVERY_FAILED),
    # Delay notices say nothing about where the parcel is: in transit, without a country.
    ("FPX_D_DD", Stage.IN_TRANSIT),
    ("FPX_M_TD", Stage.IN_TRANSIT),  # transport delay [single]
    ("FPX_D_SH", Stage.EXCEPTION),  # shipment on hold
    ("FPX_O_RT", Stage.RETURNING),  # FPX_O_RT, _RTOC...
    ("FPX_O_PR", Stage.RETURNING),  # the FPX_O_PR* family
    ("FPX_Y_", Stage.EXCEPTION),  # FPX_Y_CCMC missing, FPX_Y_DS destroyed...
)

AUTH_ERROR_CODES: frozenset[str] = frozenset({"000013"})
"""Error codes that mean the credentials were refused (000013: app_key check failed)."""

_PROVIDER_LINE = re.compile(r"【服务商】\s*([^\n]+)")
_TIME_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y/%m/%d %H:%M:%S")
# Error-envelope wording; 4PX documents no code list, so the message decides [unverified].
_AUTH_MARKERS = ("app_key", "appkey", "app key", "sign", "签名", "token", "授权", "认证")
_RATE_LIMIT_MARKERS = ("too many", "rate limit", "frequen", "频繁", "限流", "超过调用")
_NOT_FOUND_MARKERS = (
    "不存在",
    "未找到",
    "查无",
    "无轨迹",
    "暂无轨迹",
    "没有轨迹",
    "未查询到",
    "not found",
    "not exist",
    "no tracking",
    "no track",
)


def stage_of(code: str) -> Stage:
    """The stage of a `businessLinkCode`; `Stage.UNKNOWN` when it is not understood."""
    key = code.strip().upper()
    if key in STAGE_MAP:
        return STAGE_MAP[key]
    for prefix, stage in _PREFIX_STAGES:
        if key.startswith(prefix):
            return stage
    return Stage.UNKNOWN


def _slow_envelope(body: bytes) -> _Envelope:
    """The envelope through `json` first (GB18030 bodies too), to say what is wrong."""
    data = json_object(decode_body(body), carrier="4px")
    return validate_object(_Envelope, data, carrier="4px")


def decode_body(body: bytes) -> str:
    """The body as text: UTF-8 (with or without BOM), else GB18030, else UTF-8 with U+FFFD.

    Never raises: a body in neither encoding still reaches the JSON reader, which decides
    whether it has 4PX's shape.
    """
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return body.decode(encoding)
        except UnicodeDecodeError:
            continue
    return body.decode("utf-8", errors="replace")


def repair_mojibake(text: str) -> str:
    """`text` with UTF-8-read-as-GBK mojibake undone when that is cleanly possible.

    4PX's published error sample shows its Chinese texts that way (e.g. `请求处理失败` would
    read `璇锋眰澶勭悊澶辫触`); re-encoding as GBK and decoding as UTF-8 gives the original
    back. Text that does not round-trip (true Chinese, or mojibake damaged further, as in
    part of that sample) is returned unchanged.
    """
    try:
        return text.encode("gbk").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return text


class _Event(CamelModel):
    business_link_code: str | None = None
    occur_datetime: str | None = None
    occur_location: str | None = None
    tracking_content: str | None = None


class _ChannelContact(CamelModel):
    channel_simple_name: str | None = None
    contact: str | None = None


class _Data(CamelModel):
    delivery_order_no: str | None = None
    destination_country: str | None = None
    tracking_list: list[_Event] | None = None
    # The last-mile number and carrier, under the names 4PX's public tracking endpoint uses
    # (`channelTrackCode`, `channelContact`). Whether the open platform sends them is not
    # known: the one capture (2016) has neither [unverified].
    channel_track_code: str | None = None
    channel_contact: _ChannelContact | None = None


class _Error(CamelModel):
    error_code: str | int | None = None
    error_msg: str | None = None


class _Envelope(CamelModel):
    result: str | int | None = None
    msg: str | None = None
    errors: list[_Error] | None = None
    data: _Data | None = None


@loud("4px")
def parse(body: bytes, *, requested: Sequence[str] = ()) -> ParseOutput:
    """Read one `tr.order.tracking.get` body: per tracking number, a result or a failure.

    **Parameters:**

    * **body** - the raw response body.
    * **requested** - the numbers asked for (one per call). The answer is filed under the
      requested number even when `deliveryOrderNo` differs: 4PX may answer a provider number
      with its own.

    Raises `BadPayloadError` for a body without 4PX's shape, and `AuthError`,
    `RateLimitedError` or `CarrierServerError` for an error envelope. An error envelope
    that says the number does not exist is a `not_found` failure instead.
    """
    envelope = validate_json_body(_Envelope, body) or _slow_envelope(body)
    flag = str(envelope.result if envelope.result is not None else "").strip()
    if flag == "0":
        return _error_outcome(envelope, requested)
    if flag != "1":
        raise BadPayloadError(f"4px: no result flag 1 or 0 (got {flag!r})", carrier="4px")
    key = _key(envelope.data, requested)
    if key is None:
        return {}
    details = envelope.data.tracking_list if envelope.data is not None else None
    if envelope.data is None or not details:
        return {key: not_found(key, "4PX has no tracking for it")}
    return {key: _result(key, envelope.data, details)}


def _key(data: _Data | None, requested: Sequence[str]) -> str | None:
    answered = (data.delivery_order_no or "").strip() if data is not None else ""
    if len(requested) == 1:
        return requested[0]
    return Requested(requested).spelling(answered) or None


def _result(number: str, data: _Data, details: Sequence[_Event]) -> TrackResult:
    destination = to_iso2(data.destination_country)
    # `trackingList` is newest first; reversed, not re-sorted: the carrier's order is evidence.
    events = tuple(_event(e, destination=destination) for e in reversed(details))
    return TrackResult(
        tracking_number=number,
        events=events,
        final=any(e.stage in FINAL_STAGES for e in events),
        legs=_legs(number, data),
        destination_country=destination,
    )


def _legs(number: str, data: _Data) -> tuple[LegRef, ...]:
    """The last-mile leg named by `channelTrackCode`, if it is another number."""
    leg = normalize_number(data.channel_track_code or "")
    if not leg or same_number(leg, number) or same_number(leg, data.delivery_order_no):
        return ()
    return (LegRef(tracking_number=leg, carrier_name=_carrier_name(data.channel_contact)),)


def _carrier_name(contact: _ChannelContact | None) -> str:
    """`channelSimpleName`, else the `【服务商】` (service provider) line of `contact`."""
    if contact is None:
        return ""
    if contact.channel_simple_name and contact.channel_simple_name.strip():
        return contact.channel_simple_name.strip()
    match = _PROVIDER_LINE.search(contact.contact or "")
    return match.group(1).strip() if match else ""


def _event(raw: _Event, *, destination: str | None) -> ParsedEvent:
    code = (raw.business_link_code or "").strip()
    text = (raw.tracking_content or "").strip()
    # Old payloads (the 2016 capture) carry no code: their text is all there is.
    stage = stage_of(code) if code else classify(text)
    country = side_country(stage, destination=destination)
    raw_time = (raw.occur_datetime or "").strip()
    return ParsedEvent(
        stage=stage,
        code=code,
        description=text,
        occurred_at=_instant(raw_time, code),
        local_offset=CHINA_OFFSET,
        time_source=TimeSource.CARRIER_CONVENTION,
        location=(raw.occur_location or "").strip(),
        country=country,
        raw_time=raw_time,
    )


def _instant(text: str, code: str) -> datetime:
    """`occurDatetime` read as China time, whatever country the event happened in
    (carrier-apis §6)."""
    for layout in _TIME_FORMATS:
        try:
            return datetime.strptime(text, layout).replace(tzinfo=CHINA_TZ)
        except ValueError:
            continue
    raise BadPayloadError(
        f"4px: event {code or '(no code)'} has no readable occurDatetime ({text!r})",
        carrier="4px",
    )


def _error_outcome(envelope: _Envelope, requested: Sequence[str]) -> ParseOutput:
    errors = envelope.errors or []
    codes = [str(e.error_code).strip() for e in errors if e.error_code is not None]
    messages = [repair_mojibake(m) for m in [envelope.msg, *(e.error_msg for e in errors)] if m]
    detail = "; ".join(
        f"{str(e.error_code or '').strip() or '(no code)'} {repair_mojibake(e.error_msg or '')}"
        for e in errors
    )
    text = f"4px: error envelope: {repair_mojibake(envelope.msg or '') or '(no msg)'}"
    if detail:
        text = f"{text} [{detail}]"
    folded = " ".join(messages).casefold()
    if any(c in AUTH_ERROR_CODES for c in codes) or _has(folded, _AUTH_MARKERS):
        raise AuthError(text, carrier="4px")
    if _has(folded, _RATE_LIMIT_MARKERS):
        raise RateLimitedError(text, carrier="4px")
    if _has(folded, _NOT_FOUND_MARKERS):
        return {n: not_found(n, text) for n in requested}
    raise CarrierServerError(text, carrier="4px")


def _has(text: str, markers: Sequence[str]) -> bool:
    return any(marker in text for marker in markers)
