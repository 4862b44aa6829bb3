"""Request and response bodies of the HTTP API (pydantic models; the OpenAPI schema).

Orders, jobs, evidence and the summary here; webhooks in `tracking.api.webhook_models`.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any, Literal, TypeVar

from pydantic import AfterValidator, AwareDatetime, BaseModel, BeforeValidator, ConfigDict, Field

from tracking.read.views import MilestoneStatus, VerdictStatus

__all__ = [
    "AcceptedRow",
    "BundleCreate",
    "BundleFile",
    "BundlePublic",
    "CarrierFigure",
    "EventPublic",
    "EvidencePublic",
    "ExchangePublic",
    "FindingCount",
    "FindingPublic",
    "ImportResult",
    "IsoDateTime",
    "JobStatus",
    "LegPublic",
    "MilestoneCounts",
    "MilestonePublic",
    "MilestoneStatus",
    "OrderIn",
    "OrderPage",
    "OrderPublic",
    "OrderSummary",
    "ParcelPublic",
    "PullCreate",
    "PullPublic",
    "RejectedRow",
    "RequestBody",
    "SummaryPublic",
    "VerdictPublic",
    "VerdictStatus",
    "Window",
    "in_range",
    "public",
]

JobStatus = Literal["queued", "running", "succeeded", "partial", "failed"]

_TEXT = 10_000  # the longest cell the CSV reader accepts
_ISO_START = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}")


def _iso_datetime(value: object) -> object:
    if isinstance(value, datetime):
        return value
    if isinstance(value, str) and _ISO_START.match(value):
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            pass
    raise ValueError("use an ISO 8601 date-time with an offset, e.g. 2026-11-20T23:59:59Z")


EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(2199, 12, 31, 23, 59, 59, tzinfo=UTC)
"""The date-times the API accepts: room for a 10-year window either side without overflow."""


def in_range(value: datetime) -> bool:
    """Whether an aware `value` lies between `EARLIEST` and `LATEST` (no overflow either way)."""
    # The year test first: comparing year 1 or 9999 with an offset would overflow.
    return 1969 <= value.year <= 2200 and EARLIEST <= value <= LATEST


def _sane(value: datetime) -> datetime:
    if not in_range(value):
        raise ValueError("use a date-time between 1970-01-01T00:00:00Z and 2199-12-31T23:59:59Z")
    return value


IsoDateTime = Annotated[AwareDatetime, BeforeValidator(_iso_datetime), AfterValidator(_sane)]
"""An aware ISO 8601 date-time between 1970 and 2199, and nothing else (no unix numbers, no
bare dates, nothing a later computation would overflow on)."""


class RequestBody(BaseModel):
    """A request body: strict types, no unknown fields."""

    model_config = ConfigDict(extra="forbid", strict=True)


_Model = TypeVar("_Model", bound=BaseModel)


def public(model: type[_Model], source: object, **values: Any) -> _Model:
    """A `model` (a response body) from `source`'s attributes named as its fields (a stored
    row, a dataclass, a view); `values` give the fields `source` names or computes otherwise.

    For a `source` that has every field, `model.model_validate(source, from_attributes=True)`.
    """
    taken = {name: getattr(source, name) for name in model.model_fields if name not in values}
    return model.model_validate(taken | values)


# -- orders import ---------------------------------------------------------------------------


class OrderIn(RequestBody):
    """One order of a JSON import; values are read exactly as the same cells of a CSV."""

    order_id: str = Field(default="", max_length=_TEXT)
    order_date: str = Field(
        default="", max_length=_TEXT, description="ISO 8601, `2024/3/1 12:00`, Excel serial..."
    )
    tracking_number: str = Field(default="", max_length=_TEXT)
    destination_country: str = Field(
        default="", max_length=_TEXT, description="ISO 3166 code or an English/Chinese name."
    )
    carrier: str = Field(default="", max_length=_TEXT, description="Declared carrier/channel.")
    ship_date: str = Field(default="", max_length=_TEXT)
    marketplace: str = Field(default="", max_length=_TEXT)
    destination_postal_code: str = Field(default="", max_length=_TEXT)
    destination_city: str = Field(default="", max_length=_TEXT)
    order_value: str | float | None = Field(default=None, description="e.g. 12.50 or `US$12.50`.")
    currency: str = Field(default="", max_length=_TEXT)


class AcceptedRow(BaseModel):
    """A row that was stored."""

    row: int = Field(description="Spreadsheet row number (CSV) or 0-based item index + 2.")
    index: int | None = Field(description="0-based position in a JSON list; null for a CSV.")
    order_id: str
    carrier: str | None = Field(description="The carrier that will be tracked, if any.")
    carrier_source: str = Field(
        description="declared, declared_mismatch, detected, channel_mismatch or none."
    )


class RejectedRow(BaseModel):
    """A row that cannot be used, and why."""

    row: int = Field(description="Spreadsheet row number (CSV) or 0-based item index + 2.")
    index: int | None = Field(description="0-based position in a JSON list; null for a CSV.")
    column: str
    value: str
    reason: str


class ImportResult(BaseModel):
    """What an import did: every rejected row with its reason (lists are capped)."""

    rows_read: int
    rows_accepted: int
    rows_rejected: int
    orders_read: int = Field(
        default=0, description="Orders read: rows of one store and order id are one order."
    )
    item_rows: int = Field(default=0, description="Further rows (items) of an order already read.")
    parcels: int = Field(
        default=0, description="Further parcels of split orders (another tracking number)."
    )
    profile: str = Field(default="", description="The known export recognized, if any.")
    accepted: list[AcceptedRow]
    rejected: list[RejectedRow]
    truncated: bool = Field(description="True when `accepted` or `rejected` was cut short.")


# -- jobs: pulls and bundles -----------------------------------------------------------------


class PullCreate(RequestBody):
    """What a pull fetches: the tenant's stored orders in the window."""

    as_of: IsoDateTime | None = Field(default=None, description="End of the window; now.")
    window_days: int = Field(default=90, ge=1, le=3660)
    policy: str | None = Field(
        default=None, max_length=32, description="Verdict policy; the server's default."
    )
    carriers: list[str] | None = Field(
        default=None, max_length=32, description="Only these carrier codes; all by default."
    )


class PullPublic(BaseModel):
    """A pull job: its state, progress and, once done, its report."""

    id: str
    status: JobStatus
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    params: dict[str, Any]
    progress: dict[str, Any] = Field(
        description="Per carrier: {done, total} shipments fetched so far."
    )
    result: dict[str, Any] | None = Field(
        description="The pull report once finished; `reasons` per carrier when partial or failed."
    )
    error: str | None


class BundleCreate(RequestBody):
    """What goes into an evidence bundle."""

    reference_id: str = Field(
        min_length=1,
        max_length=128,
        pattern=r"^[^\x00-\x1f\x7f]+$",
        description="The Evidence Reference ID of the suspension notice.",
    )
    seller: str | None = Field(
        default=None, max_length=256, description="Name on the cover; the tenant by default."
    )
    as_of: IsoDateTime | None = Field(default=None, description="End of the window; now.")
    window_days: int = Field(default=90, ge=1, le=3660)
    verdicts: list[VerdictStatus] | None = Field(
        default=None,
        description="upload/ cites the orders with these verdicts; `pass` by default. The "
        "precheck/ folder (never for upload) covers every order of the window.",
    )
    include: list[str] | None = Field(
        default=None,
        max_length=10_000,
        description="Order ids to cite whatever their verdict (recorded in the manifest).",
    )
    exclude: list[str] | None = Field(
        default=None,
        max_length=10_000,
        description="Order ids never to cite (recorded in the manifest).",
    )
    format: Literal["folder", "zip"] = Field(
        default="folder", description="Separate files, or one zip file."
    )


class BundleFile(BaseModel):
    """One downloadable file of a bundle."""

    path: str
    size: int
    sha256: str
    media_type: str
    href: str


class BundlePublic(BaseModel):
    """A bundle job: its state and, once ready, its files."""

    id: str
    status: JobStatus
    reference_id: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    params: dict[str, Any]
    progress: dict[str, Any]
    orders: int | None = Field(description="Orders in the bundle, once ready.")
    orders_skipped: int | None = Field(description="Orders in the window without a verdict.")
    manifest_sha256: str | None
    files: list[BundleFile]
    error: str | None


# -- orders and their evidence ---------------------------------------------------------------


class OrderSummary(BaseModel):
    """An order and its current verdict, as listed."""

    order_id: str
    marketplace: str
    order_date: datetime
    tracking_number: str
    carrier: str | None
    carrier_source: str
    destination_country: str
    verdict: VerdictStatus | None = Field(description="Null until the order is pulled.")
    milestones: dict[str, MilestoneStatus] | None
    verdict_computed_at: datetime | None


class OrderPage(BaseModel):
    """One page of orders; pass `next_cursor` as `cursor` for the next one."""

    items: list[OrderSummary]
    next_cursor: str | None


class OrderPublic(BaseModel):
    """What the order says."""

    order_id: str
    marketplace: str
    order_date: datetime
    ship_date: datetime | None
    tracking_number: str
    carrier: str | None
    carrier_declared: str
    carrier_source: str
    destination_country: str
    destination_postal_code: str
    destination_city: str
    order_value: str | None = Field(description="Decimal as a string.")
    currency: str
    created_at: datetime
    updated_at: datetime


class VerdictPublic(BaseModel):
    """The current verdict of an order."""

    status: VerdictStatus
    policy: str
    digest: str
    computed_at: datetime


class MilestonePublic(BaseModel):
    """Whether a milestone is proven, explicitly or by inference, and by which event."""

    stage: str
    status: MilestoneStatus
    occurred_at: datetime | None
    carrier: str | None
    tracking_number: str | None
    code: str | None
    exchange_sha256: str | None
    note: str


class FindingPublic(BaseModel):
    """A problem a marketplace reviewer would raise."""

    code: str
    severity: Literal["error", "warning", "info"]
    message: str
    message_zh: str
    evidence: list[str]


class EventPublic(BaseModel):
    """A normalized carrier event, on its leg, with the raw exchange it came from."""

    stage: str
    code: str
    description: str
    occurred_at: datetime
    local_offset: int | None = Field(description="Minutes east of UTC of the local time.")
    time_source: str
    location: str
    country: str | None
    carrier: str
    tracking_number: str
    exchange_sha256: str


class LegPublic(BaseModel):
    """A carrier leg of the shipment (the origin leg first)."""

    carrier: str
    carrier_name: str
    tracking_number: str
    role: str
    state: str
    carrier_status: str
    final: bool
    error_kind: str | None
    public_url: str | None
    last_fetched_at: datetime | None


class ExchangePublic(BaseModel):
    """A raw carrier exchange the evidence cites; its body is at `href`."""

    sha256: str
    carrier: str
    method: str
    url: str
    status: int
    fetched_at: datetime
    size: int
    content_type: str
    href: str


class ParcelPublic(BaseModel):
    """One parcel of an order shipped in several: its own number, verdict, milestones, logs."""

    tracking_number: str
    carrier: str | None
    verdict: VerdictStatus | None = Field(description="This parcel's own verdict.")
    milestones: list[MilestonePublic]
    legs: list[LegPublic]
    events: list[EventPublic]
    exchanges: list[ExchangePublic]


class EvidencePublic(BaseModel):
    """Everything known of one order: verdict, milestones, findings, events, legs, raw logs."""

    order: OrderPublic
    verdict: VerdictPublic | None = Field(description="Null until the order is pulled.")
    milestones: list[MilestonePublic]
    findings: list[FindingPublic]
    events: list[EventPublic]
    legs: list[LegPublic]
    exchanges: list[ExchangePublic]
    parcels: list[ParcelPublic] = Field(
        default_factory=list,
        description="A split order's parcels, the first (the order's own number) included; "
        "empty for an order shipped in one parcel. Its verdict needs every parcel's milestones.",
    )


# -- portfolio summary -----------------------------------------------------------------------


class Window(BaseModel):
    """A time window (both ends included)."""

    start: datetime
    end: datetime


class MilestoneCounts(BaseModel):
    """How many orders prove a milestone explicitly, by inference, or not at all."""

    explicit: int
    inferred: int
    missing: int


class CarrierFigure(BaseModel):
    """Portfolio figures of one group (a carrier or a destination country)."""

    key: str
    orders: int
    all_milestones: int
    passed: int = Field(alias="pass")
    fail: int
    pending: int
    not_judged: int


class FindingCount(BaseModel):
    """How many orders have a finding."""

    code: str
    severity: str
    orders: int


class SummaryPublic(BaseModel):
    """The portfolio figures an appeal letter quotes."""

    window: Window
    orders: int = Field(description="Orders dated in the window.")
    judged: int
    verdicts: dict[str, int] = Field(description="{pass, fail, pending} counts.")
    not_judged: int
    all_milestones: int = Field(description="Orders proving all three milestones.")
    milestones: dict[str, MilestoneCounts]
    by_carrier: list[CarrierFigure]
    by_destination: list[CarrierFigure]
    findings: list[FindingCount]
    headline: str = Field(description='e.g. "412 of 430 orders have all three milestones".')
