"""Read-only views of an order's evidence, as the bundle, the CLI and the API present it.

These are plain frozen values assembled from storage; renderers never query the database.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal
from typing import Literal

from tracking.core.fields import field_values, from_fields

__all__ = [
    "BundleInfo",
    "EventView",
    "ExchangeView",
    "FindingView",
    "LegView",
    "MilestoneView",
    "OrderEvidence",
    "ParcelView",
    "all_exchanges",
    "as_parcel",
    "order_numbers",
    "parcels_of",
]

VerdictStatus = Literal["pass", "fail", "pending"]
MilestoneStatus = Literal["explicit", "inferred", "missing"]
Severity = Literal["error", "warning", "info"]


@dataclass(frozen=True, slots=True)
class ExchangeView:
    """One raw carrier exchange an order's evidence cites (the body lives in `raw/<sha256>`)."""

    sha256: str
    carrier: str
    method: str
    url: str
    status: int
    fetched_at: datetime
    size: int
    content_type: str
    headers: tuple[tuple[str, str], ...] = ()  # response headers kept (carriers.http allow-list)


@dataclass(frozen=True, slots=True)
class EventView:
    """One normalized event, with the leg it belongs to and the exchange it came from."""

    stage: str
    code: str
    description: str
    occurred_at: datetime  # UTC
    local_offset: int | None  # minutes east of UTC
    time_source: str  # explicit | carrier_convention | inferred | unknown
    location: str
    country: str | None
    carrier: str
    tracking_number: str  # the leg's number
    exchange_sha256: str


@dataclass(frozen=True, slots=True)
class LegView:
    """A carrier leg of the shipment (the origin leg first)."""

    carrier: str
    carrier_name: str
    tracking_number: str
    role: str  # origin | last_mile
    public_url: str
    status: str  # the carrier's last status text, or the error kind
    final: bool


@dataclass(frozen=True, slots=True)
class MilestoneView:
    """Whether a milestone is proven, and by which event."""

    stage: str  # departed_origin | arrived_destination | delivered
    status: MilestoneStatus
    event: EventView | None = None
    note: str = ""  # e.g. "inferred from import customs in RU"


@dataclass(frozen=True, slots=True)
class FindingView:
    """A problem a marketplace reviewer would raise, with pointers to what shows it."""

    code: str
    severity: Severity
    message: str
    message_zh: str = ""
    evidence: tuple[str, ...] = ()  # exchange sha256 digests and/or event references


@dataclass(frozen=True, slots=True)
class ParcelView:
    """One parcel of an order: its number, carrier, milestones, legs, events and exchanges."""

    tracking_number: str
    carrier: str
    carrier_name: str
    public_url: str
    milestones: tuple[MilestoneView, ...]
    events: tuple[EventView, ...]  # chronological, all legs of this parcel
    legs: tuple[LegView, ...]
    exchanges: tuple[ExchangeView, ...]
    verdict: str = ""  # this parcel's own verdict (pass | fail | pending), "" when not stored


@dataclass(frozen=True, slots=True)
class OrderEvidence:
    """Everything the bundle shows for one order."""

    tenant: str
    order_id: str
    marketplace: str
    order_date: datetime
    destination_country: str
    tracking_number: str
    carrier: str
    carrier_name: str
    public_url: str
    verdict: VerdictStatus
    policy: str
    milestones: tuple[MilestoneView, ...]
    findings: tuple[FindingView, ...]
    events: tuple[EventView, ...]  # chronological, all legs
    legs: tuple[LegView, ...]
    exchanges: tuple[ExchangeView, ...]
    destination_city: str = ""
    destination_postal_code: str = ""
    order_value: Decimal | None = None
    currency: str = ""
    verdict_computed_at: datetime | None = None
    parcels: tuple[ParcelView, ...] = ()
    """A split order's parcels, the first (the order's own fields) included; () for an order
    shipped in one parcel. See `parcels_of`."""


def parcels_of(order: OrderEvidence) -> tuple[ParcelView, ...]:
    """Every parcel of `order`: its `parcels`, or the one parcel its own fields describe."""
    if order.parcels:
        return order.parcels
    return (from_fields(ParcelView, order),)


def as_parcel(order: OrderEvidence, parcel: ParcelView) -> OrderEvidence:
    """`order` as if shipped in `parcel` alone (what a per-parcel document shows)."""
    return replace(order, **field_values(parcel, ParcelView, skip=("verdict",)), parcels=())


def all_exchanges(order: OrderEvidence) -> tuple[ExchangeView, ...]:
    """The exchanges every parcel of `order` cites (each fetch once)."""
    if not order.parcels:
        return order.exchanges
    seen: dict[tuple[str, str, datetime], ExchangeView] = {}
    for parcel in order.parcels:
        for x in parcel.exchanges:
            seen.setdefault((x.sha256, x.url, x.fetched_at), x)
    return tuple(seen.values())


def order_numbers(order: OrderEvidence) -> list[str]:
    """Every tracking number of `order`'s parcels and their legs, sorted."""
    numbers = {order.tracking_number}
    for parcel in parcels_of(order):
        numbers.add(parcel.tracking_number)
        numbers.update(leg.tracking_number for leg in parcel.legs)
    return sorted(n for n in numbers if n)


@dataclass(frozen=True, slots=True)
class BundleInfo:
    """What a bundle is for: the cover page's facts."""

    reference_id: str
    seller: str  # the tenant / store name shown on the cover
    window_start: datetime
    window_end: datetime
    created_at: datetime
    policy: str = "default"
    tool_version: str = ""
    filters: dict[str, str] = field(default_factory=dict)
