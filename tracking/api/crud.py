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
    public,
)
from tracking.judge.findings import redact_other_stores
from tracking.read.portfolio import read_portfolio, summary_json
from tracking.store.exchanges import raw_body
from tracking.store.tenant_orders import exchange_headers, order_record_set

__all__ = [
    "MILESTONE_STAGES",
    "exchange_body",
    "order_evidence",
    "order_summary",
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


def order_summary(row: Any) -> OrderSummary:
    """One row of `tracking.store.tenant_orders.order_page` as the order list shows it."""
    return public(
        OrderSummary,
        row,
        verdict=row.status,
        milestones=_milestone_statuses(row.milestones),
        verdict_computed_at=row.computed_at,
    )


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


def _findings(raw: list[dict[str, Any]], *, tenant: str) -> list[FindingPublic]:
    return [
        FindingPublic(
            code=f["code"],
            severity=f["severity"],
            message=f["message"],
            message_zh=f.get("message_zh", ""),
            # A number reused by another store is reported, never which store or order.
            evidence=list(redact_other_stores(f.get("evidence", ()), tenant=tenant)),
        )
        for f in raw
    ]


def _shipment_public(
    data: Any, carriers: Mapping[str, CarrierInfo]
) -> tuple[list[LegPublic], list[EventPublic], list[ExchangePublic]]:
    """The legs, events and raw-log digests of one parcel (an order's, or a further one's)."""
    legs = []
    for leg in data.shipments:
        info = carriers.get(leg.carrier)
        legs.append(
            public(
                LegPublic,
                leg,
                carrier_name=leg.carrier_name or (info.name if info else ""),
                final=bool(leg.final),
                public_url=info.public_url(leg.tracking_number) if info else None,
            )
        )
    events = [EventPublic.model_validate(e, from_attributes=True) for e in data.events]
    exchanges = [
        public(ExchangePublic, x, href=f"/v1/exchanges/{x.sha256}") for x in data.exchanges
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
    order = public(
        OrderPublic, o, order_value=str(o.order_value) if o.order_value is not None else None
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
    judged: VerdictPublic | None = None
    milestones: list[MilestonePublic] = []
    findings: list[FindingPublic] = []
    if verdict is not None:
        judged = VerdictPublic.model_validate(verdict, from_attributes=True)
        milestones = _milestones(json.loads(verdict.milestones))
        findings = _findings(json.loads(verdict.findings), tenant=data.order.tenant)
    return EvidencePublic(
        order=order,
        verdict=judged,
        milestones=milestones,
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
