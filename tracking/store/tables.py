"""Every table, declared once as a SQLModel class, and a typed handle on each.

Statements are written in SQLAlchemy Core against the handles (`ORDERS.c.tenant`, ...):
`table_of` reads each class's `Table` through SQLAlchemy's public inspection API, so nothing
reaches for the untyped `Model.__table__`. Migrations (`store/migrations`) create and change
these tables; `import tracking.store.tables` registers all of them on
`SQLModel.metadata`.

Core tables: runs, shipments, orders, order_parcels, exchange_bodies, exchanges,
exchange_shipments, events, verdicts, verdict_history, account_groups.
API tables (migration 0002): api_keys, api_jobs, api_webhooks, api_webhook_deliveries,
api_webhook_attempts, api_state.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from tracking.store.columns import UTCDateTime, utc_column, utc_now
from tracking.store.handles import table_of

__all__ = [
    "ACCOUNT_GROUPS",
    "API_KEYS",
    "API_STATE",
    "EVENTS",
    "EXCHANGES",
    "EXCHANGE_BODIES",
    "EXCHANGE_SHIPMENTS",
    "JOBS",
    "ORDERS",
    "ORDER_PARCELS",
    "RUNS",
    "SHIPMENTS",
    "VERDICTS",
    "VERDICT_HISTORY",
    "WEBHOOKS",
    "WEBHOOK_ATTEMPTS",
    "WEBHOOK_DELIVERIES",
    "AccountGroup",
    "ApiKeyRecord",
    "ApiStateRecord",
    "EventRecord",
    "ExchangeBody",
    "ExchangeRecord",
    "ExchangeShipment",
    "JobRecord",
    "OrderParcelRecord",
    "OrderRecord",
    "RunRecord",
    "ShipmentRecord",
    "UTCDateTime",
    "VerdictHistory",
    "VerdictRecord",
    "WebhookAttemptRecord",
    "WebhookDeliveryRecord",
    "WebhookRecord",
]


class RunRecord(SQLModel, table=True):
    """One pull or refresh run."""

    __tablename__ = "runs"

    id: str = Field(primary_key=True, max_length=36)
    kind: str = Field(max_length=16)
    source: str = Field(default="", max_length=1024)
    started_at: datetime = Field(sa_column=utc_column())
    finished_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    status: str = Field(default="running", max_length=16)
    stats: str = Field(default="{}")


class ShipmentRecord(SQLModel, table=True):
    """A tenant's (carrier, tracking number); a last-mile leg links to its origin shipment.

    One tenant's: two tenants citing one number each have their own shipment, fetched with
    their own requests (see `tracking.store.isolation`).
    """

    __tablename__ = "shipments"
    __table_args__ = (
        sa.UniqueConstraint(
            "tenant", "carrier", "tracking_number", name="uq_shipment_tenant_number"
        ),
        sa.Index("ix_shipments_due", "next_poll_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    tenant: str = Field(default="", max_length=128)
    carrier: str = Field(max_length=32)
    tracking_number: str = Field(max_length=64, index=True)
    parent_id: int | None = Field(default=None, foreign_key="shipments.id", index=True)
    role: str = Field(default="origin", max_length=16)
    carrier_name: str = Field(default="", max_length=128)
    state: str = Field(default="new", max_length=16)
    carrier_status: str = Field(default="", max_length=128)
    latest_stage: str | None = Field(default=None, max_length=32)
    final: bool = False
    origin_country: str | None = Field(default=None, max_length=2)
    destination_country: str | None = Field(default=None, max_length=2)
    error_kind: str | None = Field(default=None, max_length=32)
    error_message: str | None = Field(default=None, max_length=1024)
    poll_count: int = 0
    created_at: datetime = Field(default_factory=utc_now, sa_column=utc_column())
    first_fetched_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    last_fetched_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    last_event_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    not_found_since: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    next_poll_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))


class OrderRecord(SQLModel, table=True):
    """A marketplace order, unique by (tenant, order_id)."""

    __tablename__ = "orders"
    __table_args__ = (
        sa.UniqueConstraint("tenant", "order_id", name="uq_order_tenant_id"),
        sa.Index("ix_orders_tenant_date", "tenant", "order_date"),
        # The console's verdict filter, newest first (tracking/store/order_pages.py).
        sa.Index("ix_orders_tenant_verdict_date", "tenant", "verdict_status", "order_date"),
        # Its counts by verdict, whatever the filter: read from this index alone.
        sa.Index(
            "ix_orders_tenant_facets",
            "tenant",
            "verdict_status",
            "carrier",
            "destination_country",
            "order_date",
            "finding_codes",
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    tenant: str = Field(max_length=128)
    order_id: str = Field(max_length=512)
    marketplace: str = Field(default="", max_length=64)
    order_date: datetime = Field(sa_column=utc_column())
    ship_date: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    tracking_number: str = Field(max_length=64, index=True)
    carrier: str | None = Field(default=None, max_length=32)
    carrier_declared: str = Field(default="", max_length=256)
    carrier_source: str = Field(default="declared", max_length=32)
    destination_country: str = Field(max_length=2)
    destination_postal_code: str = Field(default="", max_length=32)
    destination_city: str = Field(default="", max_length=128)
    order_value: Decimal | None = Field(
        default=None, sa_column=sa.Column(sa.Numeric(14, 2), nullable=True)
    )
    currency: str = Field(default="", max_length=3)
    shipment_id: int | None = Field(default=None, foreign_key="shipments.id", index=True)
    parcel_group: str = Field(default="", max_length=160)
    """How the export groups this order's parcel with other orders' ("merged": an ERP's merge
    flag; "package:<id>": its package id); "" when it says nothing."""
    source: str = Field(default="", max_length=1024)
    last_run_id: str | None = Field(default=None, max_length=36, index=True)
    verdict_status: str | None = Field(default=None, max_length=16)
    """The status of the order's verdict (`verdicts.status`), None when not judged yet: a copy
    kept by the one write path of verdicts (`tracking.store.verdicts.recompute_verdicts`), so
    counting and filtering a tenant's orders by verdict needs no join."""
    finding_codes: str | None = Field(default=None, max_length=1024)
    """The finding codes of that verdict, sorted, each between bars (`|a.b|c.d|`; "" when it
    has none; None when not judged), kept with `verdict_status`: filtering and counting by a
    finding reads them instead of every verdict's findings JSON."""
    created_at: datetime = Field(default_factory=utc_now, sa_column=utc_column())
    updated_at: datetime = Field(default_factory=utc_now, sa_column=utc_column())


class OrderParcelRecord(SQLModel, table=True):
    """Another parcel of an order shipped in several (a split order).

    The order's own `tracking_number` and `shipment_id` are its first parcel; each further
    distinct tracking number the export gives the order is one row here, tracked and judged
    like the first (the order's verdict needs every parcel's milestones).
    """

    __tablename__ = "order_parcels"
    __table_args__ = (
        sa.UniqueConstraint("order_pk", "tracking_number", name="uq_order_parcel_number"),
    )

    id: int | None = Field(default=None, primary_key=True)
    order_pk: int = Field(foreign_key="orders.id", index=True)
    tracking_number: str = Field(max_length=64)
    carrier: str | None = Field(default=None, max_length=32)
    carrier_declared: str = Field(default="", max_length=256)
    carrier_source: str = Field(default="declared", max_length=32)
    shipment_id: int | None = Field(default=None, foreign_key="shipments.id", index=True)
    source: str = Field(default="", max_length=1024)
    created_at: datetime = Field(default_factory=utc_now, sa_column=utc_column())
    updated_at: datetime = Field(default_factory=utc_now, sa_column=utc_column())


class ExchangeBody(SQLModel, table=True):
    """A raw response body, stored once per sha256 (of the original bytes)."""

    __tablename__ = "exchange_bodies"

    sha256: str = Field(primary_key=True, max_length=64)
    size: int
    encoding: str = Field(default="identity", max_length=16)
    data: bytes = Field(sa_column=sa.Column(sa.LargeBinary(), nullable=False))


class ExchangeRecord(SQLModel, table=True):
    """One raw carrier HTTP exchange, append-only, secrets removed."""

    __tablename__ = "exchanges"

    id: int | None = Field(default=None, primary_key=True)
    carrier: str = Field(max_length=32, index=True)
    adapter_version: str = Field(max_length=64)
    method: str = Field(max_length=8)
    url: str = Field(max_length=4096)
    request_body: bytes | None = Field(
        default=None, sa_column=sa.Column(sa.LargeBinary(), nullable=True)
    )
    status: int
    headers: str = Field(default="[]")
    body_sha256: str = Field(foreign_key="exchange_bodies.sha256", max_length=64, index=True)
    fetched_at: datetime = Field(sa_column=utc_column())
    run_id: str | None = Field(default=None, max_length=36)
    tenant: str | None = Field(default=None, max_length=128)
    """Whose numbers the request carried; None when several tenants' (served to nobody)."""


class ExchangeShipment(SQLModel, table=True):
    """Which shipments an exchange answered for (a batch answers for several)."""

    __tablename__ = "exchange_shipments"

    exchange_id: int = Field(foreign_key="exchanges.id", primary_key=True)
    shipment_id: int = Field(foreign_key="shipments.id", primary_key=True, index=True)


class EventRecord(SQLModel, table=True):
    """A normalized event, unique per shipment by its identity key."""

    __tablename__ = "events"
    __table_args__ = (sa.UniqueConstraint("shipment_id", "dedup_key", name="uq_event_identity"),)

    id: int | None = Field(default=None, primary_key=True)
    # Indexed by uq_event_identity, whose first column it is (no index of its own).
    shipment_id: int = Field(foreign_key="shipments.id")
    dedup_key: str = Field(max_length=40)
    stage: str = Field(max_length=32)
    code: str = Field(default="", max_length=128)
    description: str = Field(default="")
    location: str = Field(default="", max_length=512)
    country: str | None = Field(default=None, max_length=2)
    occurred_at: datetime = Field(sa_column=utc_column())
    local_offset: int | None = None
    time_source: str = Field(max_length=24)
    raw_time: str = Field(default="", max_length=128)
    exchange_id: int = Field(foreign_key="exchanges.id")
    first_seen_at: datetime = Field(sa_column=utc_column())


class _VerdictColumns(SQLModel):
    """What a verdict says, as `verdicts` keeps an order's current one and `verdict_history`
    each distinct one it has had (a column type, not a `sa_column`: each table gets its own)."""

    policy: str = Field(max_length=32)
    milestones: str = Field(default="{}")
    findings: str = Field(default="[]")
    digest: str = Field(max_length=64)
    computed_at: datetime = Field(sa_type=UTCDateTime)


class VerdictRecord(_VerdictColumns, table=True):
    """The current verdict of an order."""

    __tablename__ = "verdicts"

    order_pk: int = Field(foreign_key="orders.id", primary_key=True)
    status: str = Field(max_length=16, index=True)


class VerdictHistory(_VerdictColumns, table=True):
    """Every distinct verdict an order has had, oldest first."""

    __tablename__ = "verdict_history"

    id: int | None = Field(default=None, primary_key=True)
    order_pk: int = Field(foreign_key="orders.id", index=True)
    status: str = Field(max_length=16)


class AccountGroup(SQLModel, table=True):
    """An operator-declared seller account group: stores whose orders are checked together."""

    __tablename__ = "account_groups"

    tenant: str = Field(primary_key=True, max_length=128)
    group_name: str = Field(max_length=128, index=True)
    created_at: datetime = Field(sa_column=utc_column())


# -- the HTTP API's tables (migration 0002) ------------------------------------------------


class ApiKeyRecord(SQLModel, table=True):
    """An API key of one tenant: only its sha256 is stored, with a visible prefix for lookup."""

    __tablename__ = "api_keys"
    __table_args__ = (sa.UniqueConstraint("key_sha256", name="uq_api_keys_key_sha256"),)

    id: str = Field(primary_key=True, max_length=32)
    tenant: str = Field(max_length=128, index=True)
    name: str = Field(default="", max_length=128)
    prefix: str = Field(max_length=32, index=True)
    key_sha256: str = Field(max_length=64)
    created_at: datetime = Field(default_factory=utc_now, sa_column=utc_column())
    last_used_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    revoked_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))


class JobRecord(SQLModel, table=True):
    """A long piece of work (a pull, a bundle) run outside any request."""

    __tablename__ = "api_jobs"
    __table_args__ = (sa.Index("ix_api_jobs_status_created", "status", "created_at"),)

    id: str = Field(primary_key=True, max_length=36)
    tenant: str = Field(max_length=128, index=True)
    kind: str = Field(max_length=16)
    status: str = Field(default="queued", max_length=16)
    params: str = Field(default="{}")
    progress: str = Field(default="{}")
    result: str | None = None
    error: str | None = Field(default=None, max_length=2048)
    attempts: int = 0
    created_at: datetime = Field(default_factory=utc_now, sa_column=utc_column())
    started_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    finished_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    heartbeat_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    """Refreshed by the process running the job; a stale one means that process died."""


class WebhookRecord(SQLModel, table=True):
    """An endpoint of the appeal builder that receives signed event notifications."""

    __tablename__ = "api_webhooks"

    id: str = Field(primary_key=True, max_length=32)
    tenant: str = Field(max_length=128, index=True)
    url: str = Field(max_length=2048)
    events: str = Field(default="[]")
    description: str = Field(default="", max_length=256)
    secret: str = Field(max_length=128)
    created_at: datetime = Field(default_factory=utc_now, sa_column=utc_column())
    deleted_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))


class WebhookDeliveryRecord(SQLModel, table=True):
    """One event to deliver to one webhook: its exact body, state and retry schedule."""

    __tablename__ = "api_webhook_deliveries"
    __table_args__ = (sa.Index("ix_api_webhook_deliveries_due", "status", "next_attempt_at"),)

    id: str = Field(primary_key=True, max_length=32)
    webhook_id: str = Field(foreign_key="api_webhooks.id", max_length=32, index=True)
    tenant: str = Field(max_length=128)
    event_id: str = Field(max_length=40)
    event_type: str = Field(max_length=32)
    payload: str
    status: str = Field(default="pending", max_length=16)
    attempts: int = 0
    next_attempt_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    last_attempt_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    last_status_code: int | None = None
    last_error: str | None = Field(default=None, max_length=1024)
    created_at: datetime = Field(default_factory=utc_now, sa_column=utc_column())
    delivered_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    replay_requested_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))


class WebhookAttemptRecord(SQLModel, table=True):
    """The delivery log: one row per attempt to send a delivery."""

    __tablename__ = "api_webhook_attempts"

    id: int | None = Field(default=None, primary_key=True)
    delivery_id: str = Field(foreign_key="api_webhook_deliveries.id", max_length=32, index=True)
    attempted_at: datetime = Field(sa_column=utc_column())
    status_code: int | None = None
    error: str | None = Field(default=None, max_length=1024)
    duration_ms: int = 0
    response_excerpt: str = Field(default="", max_length=1024)
    manual: bool = False


class ApiStateRecord(SQLModel, table=True):
    """Small named values the API keeps between restarts (e.g. the verdict-change cursor)."""

    __tablename__ = "api_state"

    name: str = Field(primary_key=True, max_length=64)
    value: str = Field(default="")


# -- typed handles, for Core statements -------------------------------------------------------

RUNS = table_of(RunRecord)
SHIPMENTS = table_of(ShipmentRecord)
ORDERS = table_of(OrderRecord)
ORDER_PARCELS = table_of(OrderParcelRecord)
EXCHANGE_BODIES = table_of(ExchangeBody)
EXCHANGES = table_of(ExchangeRecord)
EXCHANGE_SHIPMENTS = table_of(ExchangeShipment)
EVENTS = table_of(EventRecord)
VERDICTS = table_of(VerdictRecord)
VERDICT_HISTORY = table_of(VerdictHistory)
ACCOUNT_GROUPS = table_of(AccountGroup)
API_KEYS = table_of(ApiKeyRecord)
JOBS = table_of(JobRecord)
WEBHOOKS = table_of(WebhookRecord)
WEBHOOK_DELIVERIES = table_of(WebhookDeliveryRecord)
WEBHOOK_ATTEMPTS = table_of(WebhookAttemptRecord)
API_STATE = table_of(ApiStateRecord)
