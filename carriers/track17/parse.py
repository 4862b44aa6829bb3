"""Pure parser of 17TRACK v2.2 answers (`register`, `gettrackinfo`): bytes in, results out."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from carriers.base import ParseOutput, json_object, shape_error, validate_json_body
from carriers.textstage import classify
from tracking.countries import to_iso2
from tracking.domain import (
    CarrierFailure,
    ErrorKind,
    LegRef,
    ParsedEvent,
    Stage,
    TimeSource,
    TrackResult,
)
from tracking.exceptions import (
    AuthError,
    BadPayloadError,
    CarrierError,
    CarrierServerError,
    RateLimitedError,
)

__all__ = [
    "ALREADY_REGISTERED",
    "AUTH_CODES",
    "QUOTA_CODES",
    "REJECTION_KINDS",
    "STAGE_MAP",
    "SUB_STATUS_MAP",
    "TOO_MANY_NUMBERS",
    "parse",
    "parse_register",
    "stage_of",
]

STAGE_MAP: dict[str, Stage] = {
    # The nine `key_stage` values of `track_info.milestone[]`, also used as an event's
    # `stage` (carrier-apis §5, [payload]).
    "InfoReceived": Stage.INFO_RECEIVED,
    "PickedUp": Stage.PICKED_UP,
    "Departure": Stage.DEPARTED_ORIGIN,  # left the origin country's port
    "Arrival": Stage.ARRIVED_DESTINATION,  # reached the destination country's port
    "AvailableForPickup": Stage.AVAILABLE_FOR_PICKUP,  # waiting at a pickup point: not delivered
    "OutForDelivery": Stage.OUT_FOR_DELIVERY,
    "Delivered": Stage.DELIVERED,
    "Returning": Stage.RETURNING,
    "Returned": Stage.RETURNED,
}
"""Event `stage` -> stage. Other `stage` values (a `latest_event` shows "Exception") fall
through to `sub_status`."""

_CUSTOMS = Stage.IMPORT_CUSTOMS  # export_customs when the event is in the origin country

SUB_STATUS_MAP: dict[str, Stage] = {
    # 17TRACK help centre sub-statuses (carrier-apis §5), used when `stage` is null.
    "InfoReceived": Stage.INFO_RECEIVED,
    "InTransit_PickedUp": Stage.PICKED_UP,
    "InTransit_Departure": Stage.DEPARTED_ORIGIN,
    "InTransit_Arrival": Stage.ARRIVED_DESTINATION,
    "InTransit_CustomsProcessing": _CUSTOMS,
    "InTransit_CustomsReleased": _CUSTOMS,
    "InTransit_CustomsRequiringInformation": _CUSTOMS,
    # 17TRACK has no facility sub-status: sorting scans, in either country, are this one.
    "InTransit_Other": Stage.IN_TRANSIT,
    "AvailableForPickup_Other": Stage.AVAILABLE_FOR_PICKUP,
    "OutForDelivery_Other": Stage.OUT_FOR_DELIVERY,
    "DeliveryFailure_Other": Stage.DELIVERY_FAILED,
    "DeliveryFailure_NoBody": Stage.DELIVERY_FAILED,
    "DeliveryFailure_Security": Stage.DELIVERY_FAILED,
    "DeliveryFailure_Rejected": Stage.DELIVERY_FAILED,
    "DeliveryFailure_InvalidAddress": Stage.DELIVERY_FAILED,
    "Delivered_Other": Stage.DELIVERED,
    "Exception_Returning": Stage.RETURNING,
    "Exception_Returned": Stage.RETURNED,
    "Exception_Other": Stage.EXCEPTION,
    "Exception_NoBody": Stage.EXCEPTION,
    "Exception_Security": Stage.EXCEPTION,  # held (customs, security, fees) before delivery
    "Exception_Damage": Stage.EXCEPTION,
    "Exception_Rejected": Stage.EXCEPTION,
    "Exception_Lost": Stage.EXCEPTION,
    "Exception_Destroyed": Stage.EXCEPTION,
    "Exception_Cancel": Stage.EXCEPTION,
    # Deliberately unknown: a possible delay, an expiry or "nothing found" says nothing about
    # where the parcel is, and `exception` would end the order's verdict as a problem.
    "Exception_Delayed": Stage.UNKNOWN,
    "Expired_Other": Stage.UNKNOWN,
    "NotFound_Other": Stage.UNKNOWN,
    "NotFound_InvalidCode": Stage.UNKNOWN,
}
"""Event `sub_status` -> stage, when the event's `stage` is null or not a key stage."""

ALREADY_REGISTERED = -18019901
"""`register` rejection for a number registered before: not an error, it is tracked."""

TOO_MANY_NUMBERS = -18010014
"""More than 40 numbers in one call: the adapter never sends that, so it is a bug."""

AUTH_CODES: dict[int, str] = {
    -18010001: "this IP address is not on the key's whitelist",
    -18010002: "the access key is invalid",
    -18010004: "the account is disabled",
    -18010005: "unauthorised access",
}
"""Envelope codes that refuse the credentials (carrier-apis §5, [payload])."""

QUOTA_CODES: dict[int, str] = {
    -18019907: "the daily tracking limit is reached",
    -18019908: "the tracking quota is used up",
}
"""Quota codes, seen in several community clients [clients]; typed `rate_limited` (the
account refuses more work for now, nothing is wrong with the numbers). Whether 17TRACK sends
them as the envelope `code` or per number in `rejected` is unverified: both are handled."""

REJECTION_KINDS: dict[int, ErrorKind] = {
    -18019902: ErrorKind.NOT_FOUND,  # not registered
    -18019903: ErrorKind.NOT_FOUND,  # carrier cannot be detected (a carrier key might help)
    -18019909: ErrorKind.NOT_FOUND,  # no tracking information at the moment [clients]
    -18010011: ErrorKind.INVALID_NUMBER,  # the value of a field is invalid
    -18010012: ErrorKind.INVALID_NUMBER,  # the format of a field is invalid
    -18019907: ErrorKind.RATE_LIMITED,
    -18019908: ErrorKind.RATE_LIMITED,
}
"""Per-number `rejected[].error.code` -> failure kind; any other code is `carrier_error`."""

_ORIGIN_TZ = timezone(timedelta(hours=8))
_MAX_OFFSET_MINUTES = 14 * 60


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore")


class _Address(_Model):
    country: str | None = None
    state: str | None = None
    city: str | None = None


class _Event(_Model):
    time_iso: str | None = None
    time_utc: str | None = None
    description: str | None = None
    location: str | None = None
    stage: str | None = None
    sub_status: str | None = None
    address: _Address | None = None


class _ProviderInfo(_Model):
    key: int | None = None
    name: str | None = None
    alias: str | None = None
    country: str | None = None


class _Provider(_Model):
    provider: _ProviderInfo | None = None
    events: list[_Event] | None = None


class _Tracking(_Model):
    providers: list[_Provider] | None = None


class _LatestStatus(_Model):
    status: str | None = None
    sub_status: str | None = None


class _Milestone(_Model):
    key_stage: str | None = None
    time_iso: str | None = None
    time_utc: str | None = None


class _MiscInfo(_Model):
    local_number: str | None = None
    local_provider: str | None = None
    local_key: int | None = None


class _ShippingInfo(_Model):
    shipper_address: _Address | None = None
    recipient_address: _Address | None = None


class _TrackInfo(_Model):
    shipping_info: _ShippingInfo | None = None
    latest_status: _LatestStatus | None = None
    milestone: list[_Milestone] | None = None
    misc_info: _MiscInfo | None = None
    tracking: _Tracking | None = None


class _Accepted(_Model):
    number: str
    carrier: int | None = None
    tag: str | None = None
    track_info: _TrackInfo | None = None


class _Error(_Model):
    code: int | None = None
    message: str | None = None


class _Rejected(_Model):
    number: str
    error: _Error | None = None


class _Data(_Model):
    accepted: list[_Accepted] | None = None
    rejected: list[_Rejected] | None = None
    errors: list[_Error] | None = None


class _Envelope(_Model):
    code: int
    data: _Data | None = None


def stage_of(stage: str | None, sub_status: str | None) -> Stage:
    """The stage of an event from its `stage`, else its `sub_status`; `UNKNOWN` if neither.

    Customs sub-statuses come back as `import_customs`; `parse` makes them
    `export_customs` when the event is located in the origin country.
    """
    if stage and stage.strip() in STAGE_MAP:
        return STAGE_MAP[stage.strip()]
    if sub_status and sub_status.strip() in SUB_STATUS_MAP:
        return SUB_STATUS_MAP[sub_status.strip()]
    return Stage.UNKNOWN


def parse(body: bytes, *, requested: Sequence[str] = ()) -> ParseOutput:
    """Read one `gettrackinfo` body: per tracking number, a result or a typed failure.

    **Parameters:**

    * **body** - the raw response body.
    * **requested** - the numbers asked for; an item whose `number` differs from one only in
      case or spacing is filed under the requested spelling.

    `accepted` items carry `track_info`; an item without events is `not_found`. `rejected`
    items become typed failures (`REJECTION_KINDS`). A `register` body gives its rejections
    only: its accepted items have no `track_info` and yield nothing.

    Raises `BadPayloadError` for a body without 17TRACK's shape, and the matching
    `CarrierError` for an envelope whose `code` is not 0.
    """
    data = _data(body)
    spelling = {_norm(n): n for n in requested}
    output: ParseOutput = {}
    for item in data.accepted or []:
        if "track_info" not in item.model_fields_set:
            continue  # a `register` acceptance
        number = spelling.get(_norm(item.number), item.number)
        outcome = _outcome(number, item)
        # 17TRACK may list a number once per registered carrier: events win over none.
        if not isinstance(output.get(number), TrackResult):
            output[number] = outcome
    for number, failure in _rejections(data, spelling).items():
        output.setdefault(number, failure)
    return output


def parse_register(body: bytes, *, requested: Sequence[str] = ()) -> dict[str, CarrierFailure]:
    """Read one `register` body: the numbers 17TRACK refused, each with its typed failure.

    "Already registered" (`-18019901`) is not a failure: the number is tracked. Raises like
    `parse`.
    """
    data = _data(body)
    return _rejections(data, {_norm(n): n for n in requested})


def _data(body: bytes) -> _Data:
    fast = validate_json_body(_Envelope, body)
    if fast is not None and fast.code == 0 and fast.data is not None:
        return fast.data
    raw = json_object(body, carrier="17track")
    try:
        envelope = _Envelope.model_validate(raw)
    except ValidationError as exc:
        if isinstance(raw.get("code"), int) and raw["code"] != 0:
            raise _envelope_error(raw["code"], raw.get("data")) from None
        raise shape_error(exc, carrier="17track") from None
    if envelope.code != 0:
        raise _envelope_error(envelope.code, raw.get("data"))
    if envelope.data is None:
        raise BadPayloadError("17track: no `data` object in the body", carrier="17track")
    return envelope.data


def _rejections(data: _Data, spelling: Mapping[str, str]) -> dict[str, CarrierFailure]:
    failures: dict[str, CarrierFailure] = {}
    for item in data.rejected or []:
        code = item.error.code if item.error else None
        if code == ALREADY_REGISTERED:
            continue
        if code == TOO_MANY_NUMBERS:
            raise _envelope_error(code, None)
        number = spelling.get(_norm(item.number), item.number)
        kind = (
            REJECTION_KINDS.get(code, ErrorKind.CARRIER_ERROR) if code else ErrorKind.CARRIER_ERROR
        )
        message = (item.error.message if item.error else None) or "(no message)"
        failures[number] = CarrierFailure(number, kind, f"17TRACK rejected it: {code} {message}")
    return failures


def _outcome(number: str, item: _Accepted) -> TrackResult | CarrierFailure:
    info = item.track_info or _TrackInfo()
    latest = info.latest_status or _LatestStatus()
    status = (latest.status or "").strip()
    sub_status = (latest.sub_status or "").strip()
    providers = (info.tracking.providers if info.tracking else None) or []
    if not any(p.events for p in providers):
        kind = ErrorKind.INVALID_NUMBER if sub_status == "NotFound_InvalidCode" else None
        return CarrierFailure(
            number,
            kind or ErrorKind.NOT_FOUND,
            f"17TRACK has no events for it yet (status {status or 'none'}"
            f"{'/' + sub_status if sub_status else ''})",
        )
    shipping = info.shipping_info or _ShippingInfo()
    origin = to_iso2(shipping.shipper_address.country if shipping.shipper_address else None)
    destination = to_iso2(
        shipping.recipient_address.country if shipping.recipient_address else None
    )
    # Providers are legs (origin carrier first); each lists its events newest first. They are
    # reversed per provider, not re-sorted: the carrier's order is evidence.
    events = tuple(
        _event(raw, origin=origin)
        for provider in providers
        for raw in reversed(provider.events or [])
    )
    return TrackResult(
        tracking_number=number,
        events=events,
        final=_final(status, info.milestone or [], events),
        legs=_legs(number, info, providers),
        origin_country=origin,
        destination_country=destination,
        carrier_status=sub_status or status,
    )


def _final(status: str, milestones: Sequence[_Milestone], events: Sequence[ParsedEvent]) -> bool:
    """Delivered or returned, by an event, the `Returned` milestone or a Delivered status.

    A Delivered status does not count while the newest event is a pickup-point arrival, so
    polling goes on until the parcel is really collected.
    """
    if any(e.stage in (Stage.DELIVERED, Stage.RETURNED) for e in events):
        return True
    if any(m.key_stage == "Returned" and (m.time_utc or m.time_iso) for m in milestones):
        return True
    newest = max(reversed(events), key=lambda e: e.occurred_at, default=None)
    waiting = newest is not None and newest.stage is Stage.AVAILABLE_FOR_PICKUP
    return status == "Delivered" and not waiting


def _event(raw: _Event, *, origin: str | None) -> ParsedEvent:
    country = to_iso2(raw.address.country if raw.address else None)
    stage = stage_of(raw.stage, raw.sub_status)
    code = (raw.sub_status or raw.stage or "").strip()
    description = (raw.description or "").strip()
    if stage is _CUSTOMS and country is not None and country == origin:
        stage = Stage.EXPORT_CUSTOMS
    if not code and description:
        # No stage and no sub-status: the text is all there is (the shared classifier
        # returns `unknown` rather than guess).
        stage = classify(description)
    instant, offset, source = _event_time(raw, country=country)
    location = (raw.location or "").strip()
    if not location and raw.address is not None:
        location = ", ".join(p for p in (raw.address.city, raw.address.state) if p)
    return ParsedEvent(
        stage=stage,
        code=code,
        description=description,
        occurred_at=instant,
        local_offset=offset,
        time_source=source,
        location=location,
        country=country,
        raw_time=raw.time_iso or raw.time_utc or "",
    )


def _event_time(raw: _Event, *, country: str | None) -> tuple[datetime, int | None, TimeSource]:
    """The instant, the local offset (minutes east of UTC) and how the offset is known.

    - `time_utc` is the instant; a `time_utc` without a zone is read as UTC (its name says so).
    - `time_iso` with an offset gives the local offset (`explicit`); without `time_utc` it
      is also the instant.
    - `time_iso` without an offset next to a `time_utc`: the offset is their difference
      (`inferred`), when it is a whole quarter-hour within +-14 h.
    - Neither zoned: the naive `time_iso` is UTC+8 when the event is in China (`inferred`),
      else it is read as UTC with the offset unknown (`unknown`): an unknown offset is shown
      as such rather than guessed from the country.
    """
    local = _read_time(raw.time_iso, raw)
    utc = _read_time(raw.time_utc, raw)
    if utc is not None and utc.tzinfo is None:
        utc = utc.replace(tzinfo=UTC)
    if local is not None and local.tzinfo is not None:
        delta = local.utcoffset() or timedelta(0)
        return utc or local, int(delta.total_seconds() // 60), TimeSource.EXPLICIT
    if utc is not None:
        if local is not None:
            minutes = round((local - utc.replace(tzinfo=None)).total_seconds() / 60)
            if minutes % 15 == 0 and abs(minutes) <= _MAX_OFFSET_MINUTES:
                return utc, minutes, TimeSource.INFERRED
        return utc, None, TimeSource.UNKNOWN
    if local is not None:
        if country == "CN":
            return local.replace(tzinfo=_ORIGIN_TZ), 480, TimeSource.INFERRED
        return local.replace(tzinfo=UTC), None, TimeSource.UNKNOWN
    raise BadPayloadError(
        f"17track: event {raw.description!r} has neither `time_iso` nor `time_utc`",
        carrier="17track",
    )


def _read_time(text: str | None, raw: _Event) -> datetime | None:
    if not text or not text.strip():
        return None
    try:
        return datetime.fromisoformat(text.strip())
    except ValueError:
        raise BadPayloadError(
            f"17track: unreadable event time {text!r} ({raw.description!r})", carrier="17track"
        ) from None


def _legs(number: str, info: _TrackInfo, providers: Sequence[_Provider]) -> tuple[LegRef, ...]:
    """The last-mile leg: `misc_info.local_number`, when a later provider tracks it.

    The leg's carrier is `local_provider`, else the provider whose key is `local_key`, else
    the last provider: which provider comes first in real answers is not verified, so the
    name does not rely on the order.
    """
    misc = info.misc_info or _MiscInfo()
    local = (misc.local_number or "").strip()
    if len(providers) < 2 or not local or _norm(local) == _norm(number):
        return ()
    infos = [p.provider for p in providers if p.provider is not None]
    by_key = next((p.name for p in infos if misc.local_key and p.key == misc.local_key), None)
    last = infos[-1].name if infos else None
    name = (misc.local_provider or "").strip() or by_key or last or ""
    return (LegRef(tracking_number=local, carrier_name=name.strip()),)


def _envelope_error(code: int, data: Any) -> CarrierError:
    message = _error_message(data)
    if code in AUTH_CODES:
        text = f"17track: access refused ({code}: {AUTH_CODES[code]}) {message}"
        return AuthError(text.strip(), carrier="17track")
    if code in QUOTA_CODES:
        text = f"17track: {QUOTA_CODES[code]} ({code}) {message}"
        return RateLimitedError(text.strip(), carrier="17track")
    if code == TOO_MANY_NUMBERS:
        text = f"17track: more than 40 numbers in one call ({code}), an adapter bug {message}"
        return CarrierServerError(text.strip(), carrier="17track")
    return CarrierServerError(
        f"17track: error envelope {code} {message}".strip(), carrier="17track"
    )


def _error_message(data: Any) -> str:
    """The first `data.errors[].message`, in parentheses ("" when there is none)."""
    errors = data.get("errors") if isinstance(data, dict) else None
    if isinstance(errors, list):
        for error in errors:
            if isinstance(error, dict) and isinstance(error.get("message"), str):
                return f"({error['message'].strip()})"
    return ""


def _norm(number: str) -> str:
    return "".join(number.split()).upper()
