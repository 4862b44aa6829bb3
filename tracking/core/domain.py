"""Frozen domain values shared by the core and every carrier adapter."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from enum import StrEnum

__all__ = [
    "FINAL_STAGES",
    "MILESTONES",
    "CarrierFailure",
    "ErrorKind",
    "Exchange",
    "LegRef",
    "NumberResult",
    "ParsedEvent",
    "Side",
    "Stage",
    "TimeSource",
    "TrackResult",
    "as_utc",
    "offset_tz",
    "sha256_hex",
]


class Stage(StrEnum):
    """Unified tracking stages (design §5); every carrier code maps to exactly one."""

    INFO_RECEIVED = "info_received"
    PICKED_UP = "picked_up"
    ORIGIN_FACILITY = "origin_facility"
    EXPORT_CUSTOMS = "export_customs"
    DEPARTED_ORIGIN = "departed_origin"
    IN_TRANSIT = "in_transit"
    ARRIVED_DESTINATION = "arrived_destination"
    IMPORT_CUSTOMS = "import_customs"
    DESTINATION_FACILITY = "destination_facility"
    OUT_FOR_DELIVERY = "out_for_delivery"
    AVAILABLE_FOR_PICKUP = "available_for_pickup"
    DELIVERY_FAILED = "delivery_failed"
    DELIVERED = "delivered"
    RETURNING = "returning"
    RETURNED = "returned"
    EXCEPTION = "exception"
    UNKNOWN = "unknown"

    @property
    def side(self) -> Side:
        """The country this stage happens in, as far as the stage alone says (`_SIDES`).

        Parsers use it to place an event the carrier gave no country: origin-side events in
        the origin country, destination-side ones in the destination country, others nowhere.
        """
        return _SIDES.get(self, Side.NONE)


class Side(StrEnum):
    """Which end of the journey a stage belongs to."""

    ORIGIN = "origin"
    DESTINATION = "destination"
    NONE = "none"
    """Either end or neither: the stage alone does not place the parcel."""


_SIDES: dict[Stage, Side] = {
    # Before the parcel leaves the origin country: label, pickup, sorting, export, departure.
    Stage.INFO_RECEIVED: Side.ORIGIN,
    Stage.PICKED_UP: Side.ORIGIN,
    Stage.ORIGIN_FACILITY: Side.ORIGIN,
    Stage.EXPORT_CUSTOMS: Side.ORIGIN,
    Stage.DEPARTED_ORIGIN: Side.ORIGIN,
    # From arrival in the destination country to the buyer's door.
    Stage.ARRIVED_DESTINATION: Side.DESTINATION,
    Stage.IMPORT_CUSTOMS: Side.DESTINATION,
    Stage.DESTINATION_FACILITY: Side.DESTINATION,
    Stage.OUT_FOR_DELIVERY: Side.DESTINATION,
    Stage.AVAILABLE_FOR_PICKUP: Side.DESTINATION,
    Stage.DELIVERY_FAILED: Side.DESTINATION,
    Stage.DELIVERED: Side.DESTINATION,
    # Neither, on purpose:
    # - IN_TRANSIT is between the two countries (a hub, a flight).
    # - RETURNING starts at either end: at destination for a refused or unclaimed parcel,
    #   at origin for one refused before export (4PX's FPX_O_RT* "origin return" codes,
    #   carriers/fourpx/parse.py), and is on its way between the two in between. Placing it
    #   in the destination country (as Cainiao's parser did) would put an origin return in
    #   the buyer's country: a false place in the evidence. The carrier's own country or
    #   location field, when it gives one, still says where.
    # - RETURNED ends with the sender, normally at origin, but a consolidator's return
    #   warehouse may be in the destination country; the stage alone does not say which.
    # - EXCEPTION happens anywhere (a parcel lost in transit is in neither country).
    # - UNKNOWN says nothing.
}


MILESTONES: tuple[Stage, ...] = (
    Stage.DEPARTED_ORIGIN,
    Stage.ARRIVED_DESTINATION,
    Stage.DELIVERED,
)
"""The three milestones every order must prove."""

FINAL_STAGES: frozenset[Stage] = frozenset({Stage.DELIVERED, Stage.RETURNED})
"""Stages after which a shipment needs no more polling (one confirming poll aside)."""


class TimeSource(StrEnum):
    """How an event's local offset is known."""

    EXPLICIT = "explicit"
    CARRIER_CONVENTION = "carrier_convention"
    INFERRED = "inferred"
    UNKNOWN = "unknown"


class ErrorKind(StrEnum):
    """Typed per-number failures; one number's failure never fails its batch."""

    NOT_FOUND = "not_found"
    AUTH = "auth"
    RATE_LIMITED = "rate_limited"
    INVALID_NUMBER = "invalid_number"
    CARRIER_ERROR = "carrier_error"
    BAD_PAYLOAD = "bad_payload"
    BLOCKED = "blocked"
    """The carrier refuses automated requests (a challenge page, a captcha, HTML for JSON)."""
    QUOTA = "quota"
    """The account's quota at the carrier is used up (retrying before it renews is useless)."""
    PERMISSION = "permission"
    """The credentials are valid but not allowed this call or this number."""
    AWAITING_DATA = "awaiting_data"
    """Registered with an aggregator (17TRACK) that has not fetched the carrier yet."""


def sha256_hex(data: bytes) -> str:
    """Hex sha256 of `data`."""
    return hashlib.sha256(data).hexdigest()


def as_utc(moment: datetime) -> datetime:
    """Return `moment` in UTC; a naive datetime is a bug and raises `ValueError`."""
    if moment.tzinfo is UTC:
        return moment
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"naive datetime {moment.isoformat()} where an aware one is required")
    return moment.astimezone(UTC)


def offset_tz(minutes: int) -> timezone:
    """A fixed-offset timezone of `minutes` east of UTC."""
    return timezone(timedelta(minutes=minutes))


@dataclass(frozen=True, slots=True)
class Exchange:
    """One raw carrier HTTP exchange, secrets removed, exactly as received.

    `body` is the response body's bytes; `sha256` is always of those bytes.
    """

    carrier: str
    adapter_version: str
    method: str
    url: str
    request_body: bytes | None
    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes
    fetched_at: datetime
    sha256: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "fetched_at", as_utc(self.fetched_at))
        if not self.sha256:
            object.__setattr__(self, "sha256", sha256_hex(self.body))

    @property
    def content_type(self) -> str:
        for name, value in self.headers:
            if name.lower() == "content-type":
                return value
        return "application/octet-stream"


@dataclass(frozen=True, slots=True)
class ParsedEvent:
    """A normalized tracking event as a parser reads it from one raw response.

    `occurred_at` is the UTC instant; `local_offset` is minutes east of UTC (None when
    unknown); `raw_time` keeps the carrier's own time text verbatim as evidence.
    """

    stage: Stage
    code: str
    description: str
    occurred_at: datetime
    local_offset: int | None
    time_source: TimeSource
    location: str = ""
    country: str | None = None
    raw_time: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "occurred_at", as_utc(self.occurred_at))

    @property
    def local_time(self) -> datetime:
        """`occurred_at` shown at the event's local offset (UTC when unknown)."""
        return self.occurred_at.astimezone(offset_tz(self.local_offset or 0))


@dataclass(frozen=True, slots=True)
class LegRef:
    """A linked leg revealed by a carrier: another carrier's number for the same parcel."""

    tracking_number: str
    carrier: str | None = None
    carrier_name: str = ""
    role: str = "last_mile"


@dataclass(frozen=True, slots=True)
class TrackResult:
    """What a carrier says about one tracking number."""

    tracking_number: str
    events: tuple[ParsedEvent, ...]
    final: bool
    legs: tuple[LegRef, ...] = ()
    origin_country: str | None = None
    destination_country: str | None = None
    carrier_status: str = ""


@dataclass(frozen=True, slots=True)
class CarrierFailure:
    """A typed failure for one tracking number."""

    tracking_number: str
    kind: ErrorKind
    message: str
    retry_at: datetime | None = None
    """When the carrier may be asked again (a blocked carrier's back-off); None: the schedule's."""


@dataclass(frozen=True, slots=True)
class NumberResult:
    """The outcome of fetching one number: its raw exchanges and a result or a failure."""

    tracking_number: str
    exchanges: tuple[Exchange, ...]
    outcome: TrackResult | CarrierFailure = field()

    @property
    def ok(self) -> bool:
        return isinstance(self.outcome, TrackResult)
