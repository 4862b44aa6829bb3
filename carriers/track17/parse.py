"""Pure parser of 17TRACK v2.x answers and pushes: bytes in, results out.

Reads `register`, `gettrackinfo` and `changecarrier` answers (the `code`/`data` envelope)
and push bodies (`{"event": "TRACKING_UPDATED" | "TRACKING_STOPPED", "data": {...}}`, whose
`data` is a `gettrackinfo` accepted item). Other 17TRACK shapes are refused by name
(`shapes.foreign_shape`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from carriers.base import ParseOutput
from carriers.kit.envelopes import json_object, validate_json_body
from carriers.kit.matching import Requested, same_number
from carriers.kit.outcomes import not_found
from carriers.refusal import plain_reason, refusal
from carriers.textstage import classify
from carriers.track17.codes import (
    ALREADY_REGISTERED,
    AUTH_CODES,
    CUSTOMS,
    PERMISSION_CODES,
    QUOTA_CODES,
    REJECTION_KINDS,
    STAGE_MAP,
    SUB_STATUS_MAP,
    TOO_MANY_NUMBERS,
    stage_of,
)
from carriers.track17.models import (
    Accepted,
    Data,
    Envelope,
    Event,
    LatestStatus,
    Milestone,
    MiscInfo,
    Provider,
    Push,
    ShippingInfo,
    TrackInfo,
)
from carriers.track17.shapes import foreign_shape
from carriers.track17.times import event_time
from tracking.core.countries import to_iso2
from tracking.core.domain import (
    CarrierFailure,
    ErrorKind,
    LegRef,
    ParsedEvent,
    Stage,
    TrackResult,
)
from tracking.core.exceptions import (
    AuthError,
    BadPayloadError,
    CarrierError,
    CarrierServerError,
    PermissionDeniedError,
    QuotaExhaustedError,
)
from tracking.core.numbers import normalize_number

__all__ = [
    "ALREADY_REGISTERED",
    "AUTH_CODES",
    "PERMISSION_CODES",
    "PUSH_EVENTS",
    "QUOTA_CODES",
    "REJECTION_KINDS",
    "STAGE_MAP",
    "STOPPED_STATUS",
    "SUB_STATUS_MAP",
    "SUPPORTED",
    "TOO_MANY_NUMBERS",
    "Reading",
    "parse",
    "parse_register",
    "push_number",
    "read_answer",
    "stage_of",
]

SUPPORTED = (
    "17TRACK API v2.2/v2.4 (register, gettrackinfo, changecarrier) or 17TRACK push "
    "(TRACKING_UPDATED, TRACKING_STOPPED)"
)
"""The shapes this parser reads, as refusals name them."""

_CARRIER = "17track"
STOPPED_STATUS = "TRACKING_STOPPED"
"""`carrier_status` of the result a `TRACKING_STOPPED` push gives (it carries no events)."""
PUSH_EVENTS = ("TRACKING_UPDATED", "TRACKING_STOPPED")
"""The push events 17TRACK sends [payload: the v2.x webhook example; godely/aio17track]."""
_OVERRIDABLE = frozenset(
    {Stage.UNKNOWN, Stage.IN_TRANSIT, Stage.ORIGIN_FACILITY, Stage.DESTINATION_FACILITY}
)
"""Stages a sub-status or a text gives that a milestone at the same instant may sharpen."""


def parse(body: bytes, *, requested: Sequence[str] = ()) -> ParseOutput:
    """Read one `gettrackinfo` answer or push body: per number, a result or a typed failure.

    **Parameters:**

    * **body** - the raw response (or push) body.
    * **requested** - the numbers asked for; an item whose `number` differs from one only in
      case or spacing is filed under the requested spelling.

    `accepted` items carry `track_info`; an item without events is `awaiting_data` while
    17TRACK has not fetched the carrier yet, else `not_found`. `rejected` items become typed
    failures (`REJECTION_KINDS`). A `register` body gives its rejections only. A
    `TRACKING_STOPPED` push gives a result without events whose `carrier_status` is
    `STOPPED_STATUS`.

    Raises `BadPayloadError` naming the body for any other shape (17TRACK API v1 and the
    web API by name), and the matching `CarrierError` for an envelope whose `code` is not 0.
    """
    spelling = Requested(requested)
    data = _fast_data(body)
    if data is None:
        push = _push(body)
        if push is not None:
            number = spelling.spelling(push.data.number)
            if push.event == STOPPED_STATUS:
                stopped = TrackResult(number, (), final=False, carrier_status=STOPPED_STATUS)
                return {number: stopped}
            return {number: _outcome(number, push.data)}
        data = _data(body)
    return _outputs(data, spelling)


def _outputs(data: Data, spelling: Requested) -> ParseOutput:
    output: ParseOutput = {}
    for item in data.accepted or []:
        if "track_info" not in item.model_fields_set:
            continue  # a `register` or `changecarrier` acceptance
        number = spelling.spelling(item.number)
        outcome = _outcome(number, item)
        # 17TRACK may list a number once per registered carrier: events win over none.
        if not isinstance(output.get(number), TrackResult):
            output[number] = outcome
    for number, failure in _rejections(data, spelling).items():
        output.setdefault(number, failure)
    return output


def parse_register(body: bytes, *, requested: Sequence[str] = ()) -> dict[str, CarrierFailure]:
    """Read one `register` (or `changecarrier`) body: the numbers refused, each typed.

    "Already registered" (`-18019901`) is not a failure: the number is tracked. Raises like
    `parse`.
    """
    data = _data(body)
    return _rejections(data, Requested(requested))


@dataclass(frozen=True, slots=True)
class Reading:
    """A `gettrackinfo` answer read once: outcomes, rejection codes, detected carriers."""

    outcomes: ParseOutput
    codes: dict[str, int]
    """Normalized number -> its `rejected[].error.code`."""
    carriers: dict[str, int]
    """Normalized number -> the carrier key 17TRACK tracks it under."""


def read_answer(body: bytes, *, requested: Sequence[str] = ()) -> Reading:
    """`parse`, plus what the adapter needs to decide on `register` and `changecarrier`."""
    data = _data(body)
    return Reading(
        outcomes=_outputs(data, Requested(requested)),
        codes={
            normalize_number(item.number): item.error.code
            for item in data.rejected or []
            if item.error is not None and item.error.code is not None
        },
        carriers={
            normalize_number(item.number): item.carrier
            for item in data.accepted or []
            if item.carrier is not None and "track_info" in item.model_fields_set
        },
    )


def push_number(body: bytes) -> tuple[str, str]:
    """(event, number) of a push body; `BadPayloadError` when the body is not a push."""
    push = _push(body)
    if push is None:
        raise refusal(
            _CARRIER,
            expected="17TRACK push (TRACKING_UPDATED, TRACKING_STOPPED)",
            reason="it has no `event`",
        )
    return push.event, push.data.number


def _push(body: bytes) -> Push | None:
    """The push in `body`, None when it is not one; a push of another shape is refused."""
    fast = validate_json_body(Push, body)
    if fast is not None and (
        fast.event == STOPPED_STATUS
        or (fast.event in PUSH_EVENTS and "track_info" in fast.data.model_fields_set)
    ):
        return fast
    raw = json_object(body, carrier=_CARRIER)
    if "event" not in raw:
        return None
    named = foreign_shape(raw)
    if named is not None:
        raise _refused(f"it is {named}")
    if raw.get("event") not in PUSH_EVENTS:
        raise _refused(f"unknown push event {raw.get('event')!r}")
    try:
        return Push.model_validate(raw)
    except ValidationError as exc:
        raise _refused(plain_reason(exc)) from None


def _refused(reason: str) -> BadPayloadError:
    return refusal(_CARRIER, expected=SUPPORTED, reason=reason)


def _fast_data(body: bytes) -> Data | None:
    """The `data` of a well-formed v2.x answer read straight from the bytes, else None."""
    fast = validate_json_body(Envelope, body)
    if (
        fast is not None
        and fast.code == 0
        and fast.data is not None
        and not _has_v1_items(fast.data)
    ):
        return fast.data
    return None


def _data(body: bytes) -> Data:
    fast = _fast_data(body)
    if fast is not None:
        return fast
    raw = json_object(body, carrier=_CARRIER)
    named = foreign_shape(raw)
    if named is not None:
        raise _refused(f"it is {named}")
    try:
        envelope = Envelope.model_validate(raw)
    except ValidationError as exc:
        if isinstance(raw.get("code"), int) and raw["code"] != 0:
            raise _envelope_error(raw["code"], raw.get("data")) from None
        raise _refused(plain_reason(exc)) from None
    if envelope.code != 0:
        raise _envelope_error(envelope.code, raw.get("data"))
    if envelope.data is None:
        raise _refused("it has no `data` object")
    return envelope.data


def _has_v1_items(data: Data) -> bool:
    """Accepted items without `track_info`: a register answer, or v1 (checked on the raw)."""
    return any("track_info" not in item.model_fields_set for item in data.accepted or [])


def _rejections(data: Data, spelling: Requested) -> dict[str, CarrierFailure]:
    failures: dict[str, CarrierFailure] = {}
    for item in data.rejected or []:
        code = item.error.code if item.error else None
        if code == ALREADY_REGISTERED:
            continue
        if code == TOO_MANY_NUMBERS:
            raise _envelope_error(code, None)
        number = spelling.spelling(item.number)
        kind = (
            REJECTION_KINDS.get(code, ErrorKind.CARRIER_ERROR) if code else ErrorKind.CARRIER_ERROR
        )
        message = (item.error.message if item.error else None) or "(no message)"
        failures[number] = CarrierFailure(number, kind, f"17TRACK rejected it: {code} {message}")
    return failures


def _outcome(number: str, item: Accepted) -> TrackResult | CarrierFailure:
    info = item.track_info or TrackInfo()
    latest = info.latest_status or LatestStatus()
    status = (latest.status or "").strip()
    sub_status = (latest.sub_status or "").strip()
    providers = (info.tracking.providers if info.tracking else None) or []
    shipping = info.shipping_info or ShippingInfo()
    origin = to_iso2(shipping.shipper_address.country if shipping.shipper_address else None)
    destination = to_iso2(
        shipping.recipient_address.country if shipping.recipient_address else None
    )
    # Providers are legs (origin carrier first); each lists its events newest first. They are
    # reversed per provider, not re-sorted: the carrier's order is evidence.
    read = [
        _event(raw, origin=origin)
        for provider in providers
        for raw in reversed(provider.events or [])
    ]
    events = _with_milestones(read, info.milestone or [])
    if not events:
        return _without_events(number, status, sub_status, providers)
    return TrackResult(
        tracking_number=number,
        events=tuple(events),
        final=_final(status, info.milestone or [], events),
        legs=_legs(number, info, providers),
        origin_country=origin,
        destination_country=destination,
        carrier_status=sub_status or status,
    )


def _without_events(
    number: str, status: str, sub_status: str, providers: Sequence[Provider]
) -> CarrierFailure:
    """No events: awaiting 17TRACK's first fetch, not found, or an invalid number.

    17TRACK registers a number at once and fetches the carrier asynchronously, so the
    `gettrackinfo` right after `register` is normally empty [payload: v2.2 docs, "Quick
    Guide"; godely/aio17track]. While no provider shows a `latest_sync_time` 17TRACK has
    not asked the carrier yet: that is `awaiting_data`, polled again within minutes, not
    *not found* [inferred: which fields an unsynced answer carries is for a live call].
    """
    shown = f"status {status or 'none'}{'/' + sub_status if sub_status else ''}"
    if sub_status == "NotFound_InvalidCode":
        message = f"17TRACK: invalid code ({shown})"
        return CarrierFailure(number, ErrorKind.INVALID_NUMBER, message)
    if status in ("", "NotFound") and not any(p.latest_sync_time for p in providers):
        return CarrierFailure(
            number,
            ErrorKind.AWAITING_DATA,
            f"registered with 17TRACK, which has not fetched the carrier yet ({shown})",
        )
    return not_found(number, f"17TRACK has no events for it ({shown})")


def _with_milestones(
    read: list[tuple[ParsedEvent, bool]], milestones: Sequence[Milestone]
) -> list[ParsedEvent]:
    """The events, with 17TRACK's `milestone[]` applied where per-event stages are silent.

    Real answers leave an event's `stage` null (17TRACK's UPS and DHL examples) while
    `track_info.milestone[]` names the key stage and its time. A reached milestone gives its
    stage to the event at the same instant whose own `stage` is null and whose sub-status
    or text says no more than "in transit"; when no such event exists the milestone itself
    is kept as an event (code `milestone.<KeyStage>`), 17TRACK's statement as evidence.
    """
    events = [event for event, _ in read]
    keyed = [has_stage for _, has_stage in read]
    at: dict[datetime, list[int]] = {}
    by_text: dict[str, list[int]] = {}  # 17TRACK copies the event's time strings
    for i, event in enumerate(events):
        at.setdefault(event.occurred_at, []).append(i)
        by_text.setdefault(event.raw_time, []).append(i)
    for milestone in milestones:
        key = (milestone.key_stage or "").strip()
        text = milestone.time_iso or milestone.time_utc
        if key not in STAGE_MAP or not text:
            continue
        stage = STAGE_MAP[key]
        if any(events[i].stage is stage for i in by_text.get(text, ())):
            continue  # the usual case, decided without reading the time
        what = f"17TRACK milestone: {key}"
        instant, offset, source = event_time(milestone, country=None, what=what)
        same = at.get(instant, [])
        if any(events[i].stage is stage for i in same):
            continue
        open_ = [i for i in same if not keyed[i] and events[i].stage in _OVERRIDABLE]
        if open_:
            events[open_[0]] = replace(events[open_[0]], stage=stage)
            continue
        events.append(
            ParsedEvent(
                stage=stage,
                code=f"milestone.{key}",
                description=what,
                occurred_at=instant,
                local_offset=offset,
                time_source=source,
                raw_time=text,
            )
        )
    return events


def _final(status: str, milestones: Sequence[Milestone], events: Sequence[ParsedEvent]) -> bool:
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


def _event(raw: Event, *, origin: str | None) -> tuple[ParsedEvent, bool]:
    """The event, and whether its own `stage` is a key stage (a milestone must not override)."""
    country = to_iso2(raw.address.country if raw.address else None)
    stage = stage_of(raw.stage, raw.sub_status)
    code = (raw.sub_status or raw.stage or "").strip()
    description = (raw.description or "").strip()
    if stage is CUSTOMS and country is not None and country == origin:
        stage = Stage.EXPORT_CUSTOMS
    if not code and description:
        # No stage and no sub-status: the text is all there is (the shared classifier
        # returns `unknown` rather than guess).
        stage = classify(description)
    instant, offset, source = event_time(raw, country=country, what=raw.description)
    location = (raw.location or "").strip()
    if not location and raw.address is not None:
        location = ", ".join(p for p in (raw.address.city, raw.address.state) if p)
    event = ParsedEvent(
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
    return event, bool(raw.stage and raw.stage.strip() in STAGE_MAP)


def _legs(number: str, info: TrackInfo, providers: Sequence[Provider]) -> tuple[LegRef, ...]:
    """The last-mile leg: `misc_info.local_number`, when a later provider tracks it.

    The leg's carrier is `local_provider`, else the provider whose key is `local_key`, else
    the last provider: which provider comes first in real answers is not verified, so the
    name does not rely on the order.
    """
    misc = info.misc_info or MiscInfo()
    local = (misc.local_number or "").strip()
    if len(providers) < 2 or not local or same_number(local, number):
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
    if code in PERMISSION_CODES:
        text = f"17track: not allowed ({code}: {PERMISSION_CODES[code]}) {message}"
        return PermissionDeniedError(text.strip(), carrier="17track")
    if code in QUOTA_CODES:
        text = f"17track: {QUOTA_CODES[code]} ({code}) {message}"
        return QuotaExhaustedError(text.strip(), carrier="17track")
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
