"""Keyword-only reads behind the routes: orders, evidence, exchanges, summary.

Every function takes the tenant and never returns another tenant's data; the queries are
`tracking.store.tenant_orders`. Imports are `tracking.api.orders_import`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy.engine import Engine

from carriers.base import CarrierInfo
from tracking.api.models import (
    EventPublic,
    EvidencePublic,
    ExchangePublic,
    FindingPublic,
    LegPublic,
    MilestonePublic,
    OrderPublic,
    OrderSummary,
    ParcelPublic,
    SummaryPublic,
    VerdictPublic,
)
from tracking.judge.findings import redact_other_stores
from tracking.read.portfolio import read_portfolio, summary_json
from tracking.store.exchanges import raw_body
from tracking.store.tenant_orders import (
    exchange_headers,
    order_page,
    order_record_set,
)

__all__ = [
    "MILESTONE_STAGES",
    "exchange_body",
    "list_orders",
    "order_evidence",
    "portfolio_summary",
]

MILESTONE_STAGES = ("departed_origin", "arrived_destination", "delivered")
"""The three milestones, in the order a shipment reaches them."""


# -- listing ---------------------------------------------------------------------------------


def _milestone_statuses(raw: str | None) -> dict[str, Any] | None:
    if raw is None:
        return None
    data = json.loads(raw)
    return {stage: data.get(stage, {}).get("status", "missing") for stage in MILESTONE_STAGES}


def list_orders(
    engine: Engine,
    *,
    tenant: str,
    after: int,
    limit: int,
    verdict: str | None = None,
    carrier: str | None = None,
    window: tuple[datetime, datetime] | None = None,
) -> tuple[list[OrderSummary], int | None]:
    """One page of the tenant's orders after primary key `after`; and the next page's key."""
    rows, more = order_page(
        engine,
        tenant=tenant,
        after=after,
        limit=limit,
        verdict=verdict,
        carrier=carrier,
        window=window,
    )
    items = [
        OrderSummary(
            order_id=r.order_id,
            marketplace=r.marketplace,
            order_date=r.order_date,
            tracking_number=r.tracking_number,
            carrier=r.carrier,
            carrier_source=r.carrier_source,
            destination_country=r.destination_country,
            verdict=r.status,
            milestones=_milestone_statuses(r.milestones),
            verdict_computed_at=r.computed_at,
        )
        for r in rows
    ]
    return items, (rows[-1].id if more and rows else None)


# -- evidence --------------------------------------------------------------------------------


def _milestones(raw: Mapping[str, Any]) -> list[MilestonePublic]:
    stages = [*MILESTONE_STAGES, *sorted(set(raw) - set(MILESTONE_STAGES) - {"parcels"})]
    out: list[MilestonePublic] = []
    for stage in stages:
        item = raw.get(stage) or {}
        when = item.get("occurred_at")
        out.append(
            MilestonePublic(
                stage=stage,
                status=item.get("status", "missing"),
                occurred_at=datetime.fromisoformat(when) if when else None,
                carrier=item.get("carrier"),
                tracking_number=item.get("tracking_number"),
                code=item.get("code"),
                exchange_sha256=item.get("exchange"),
                note=item.get("note") or "",
            )
        )
    return out


def _shipment_public(
    data: Any, carriers: Mapping[str, CarrierInfo]
) -> tuple[list[LegPublic], list[EventPublic], list[ExchangePublic]]:
    """The legs, events and raw-log digests of one parcel (an order's, or a further one's)."""
    legs = []
    for leg in data.shipments:
        info = carriers.get(leg.carrier)
        legs.append(
            LegPublic(
                carrier=leg.carrier,
                carrier_name=leg.carrier_name or (info.name if info else ""),
                tracking_number=leg.tracking_number,
                role=leg.role,
                state=leg.state,
                carrier_status=leg.carrier_status,
                final=bool(leg.final),
                error_kind=leg.error_kind,
                public_url=info.public_url(leg.tracking_number) if info else None,
                last_fetched_at=leg.last_fetched_at,
            )
        )
    events = [
        EventPublic(
            stage=e.stage,
            code=e.code,
            description=e.description,
            occurred_at=e.occurred_at,
            local_offset=e.local_offset,
            time_source=e.time_source,
            location=e.location,
            country=e.country,
            carrier=e.carrier,
            tracking_number=e.tracking_number,
            exchange_sha256=e.exchange_sha256,
        )
        for e in data.events
    ]
    exchanges = [
        ExchangePublic(
            sha256=x.sha256,
            carrier=x.carrier,
            method=x.method,
            url=x.url,
            status=x.status,
            fetched_at=x.fetched_at,
            size=x.size,
            content_type=x.content_type,
            href=f"/v1/exchanges/{x.sha256}",
        )
        for x in data.exchanges
    ]
    return legs, events, exchanges


def order_evidence(
    engine: Engine,
    *,
    tenant: str,
    order_id: str,
    carriers: Mapping[str, CarrierInfo],
) -> EvidencePublic | None:
    """Everything stored about one of the tenant's orders; None when it has no such order."""
    found = order_record_set(engine, tenant=tenant, order_id=order_id)
    if found is None:
        return None
    data, verdict, split = found.data, found.verdict, found.further
    o = data.order
    order = OrderPublic(
        order_id=o.order_id,
        marketplace=o.marketplace,
        order_date=o.order_date,
        ship_date=o.ship_date,
        tracking_number=o.tracking_number,
        carrier=o.carrier,
        carrier_declared=o.carrier_declared,
        carrier_source=o.carrier_source,
        destination_country=o.destination_country,
        destination_postal_code=o.destination_postal_code,
        destination_city=o.destination_city,
        order_value=str(o.order_value) if o.order_value is not None else None,
        currency=o.currency,
        created_at=o.created_at,
        updated_at=o.updated_at,
    )
    legs, events, exchanges = _shipment_public(data, carriers)
    parcels: list[ParcelPublic] = []
    if split:  # a split order: every parcel with its own legs, events, raw logs, milestones
        stored = json.loads(verdict.milestones).get("parcels") if verdict else None
        by_number = {p.get("tracking_number"): p for p in stored or ()}
        for part in (data, *split):
            own = by_number.get(part.order.tracking_number) or {}
            p_legs, p_events, p_exchanges = _shipment_public(part, carriers)
            parcels.append(
                ParcelPublic(
                    tracking_number=part.order.tracking_number,
                    carrier=part.order.carrier,
                    verdict=own.get("status"),
                    milestones=_milestones(own.get("milestones") or {}) if own else [],
                    legs=p_legs,
                    events=p_events,
                    exchanges=p_exchanges,
                )
            )
    if verdict is None:
        return EvidencePublic(
            order=order,
            verdict=None,
            milestones=[],
            findings=[],
            events=events,
            legs=legs,
            exchanges=exchanges,
            parcels=parcels,
        )
    findings = [
        FindingPublic(
            code=f["code"],
            severity=f["severity"],
            message=f["message"],
            message_zh=f.get("message_zh", ""),
            # A number reused by another store is reported, never which store or order.
            evidence=list(redact_other_stores(f.get("evidence", ()), tenant=data.order.tenant)),
        )
        for f in json.loads(verdict.findings)
    ]
    return EvidencePublic(
        order=order,
        verdict=VerdictPublic(
            status=verdict.status,
            policy=verdict.policy,
            digest=verdict.digest,
            computed_at=verdict.computed_at,
        ),
        milestones=_milestones(json.loads(verdict.milestones)),
        findings=findings,
        events=events,
        legs=legs,
        exchanges=exchanges,
        parcels=parcels,
    )


# -- raw exchanges ---------------------------------------------------------------------------


def exchange_body(engine: Engine, *, tenant: str, sha256: str) -> tuple[bytes, str] | None:
    """(body, content type) of a raw exchange made for the tenant's own numbers; else None.

    Only exchanges of the tenant's own requests (`exchanges.tenant`, `tracking.store.isolation`):
    a body answering for another tenant's numbers is never served, whoever cites the number.
    """
    headers = exchange_headers(engine, tenant=tenant, sha256=sha256)
    if headers is None:
        return None
    try:
        found = {str(k).lower(): str(v) for k, v in json.loads(headers)}
    except (ValueError, TypeError):
        found = {}
    content_type = found.get("content-type") or "application/octet-stream"
    try:
        return raw_body(engine, sha256), content_type
    except KeyError:
        return None


# -- portfolio summary -----------------------------------------------------------------------


def portfolio_summary(
    engine: Engine, *, tenant: str, window: tuple[datetime, datetime]
) -> SummaryPublic:
    """The figures an appeal letter quotes for the tenant's orders dated in `window`
    (`tracking.read.portfolio`: the same summary `report` and the precheck show)."""
    return SummaryPublic.model_validate(
        summary_json(read_portfolio(engine, tenant=tenant, window=window))
    )
