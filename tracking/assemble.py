"""Assemble `OrderEvidence` views from storage, for the bundle, the CLI and the API."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from carriers.base import CarrierInfo
from tracking.findings import redact_other_stores
from tracking.repository import OrderBundleData, iter_order_ids, load_orders_data
from tracking.storage import OrderRecord, VerdictRecord
from tracking.views import EventView, FindingView, LegView, MilestoneView, OrderEvidence

__all__ = ["iter_order_evidence", "order_evidence"]

_ORDER_MILESTONES = ("departed_origin", "arrived_destination", "delivered")


def _milestones(raw: Mapping[str, Any], events: Sequence[EventView]) -> tuple[MilestoneView, ...]:
    views: list[MilestoneView] = []
    for stage in _ORDER_MILESTONES:
        item = raw.get(stage) or {}
        status = item.get("status", "missing")
        event = None
        if status != "missing" and item.get("occurred_at"):
            when = datetime.fromisoformat(item["occurred_at"])
            event = next(
                (
                    e
                    for e in events
                    if e.occurred_at == when
                    and e.code == (item.get("code") or "")
                    and e.tracking_number == item.get("tracking_number")
                ),
                None,
            )
        views.append(
            MilestoneView(stage=stage, status=status, event=event, note=item.get("note", ""))
        )
    return tuple(views)


def _findings(raw: Sequence[Mapping[str, Any]], *, tenant: str) -> tuple[FindingView, ...]:
    """Stored findings as views of `tenant`'s order: another store's order is never named
    (bundles print these pointers; `tracking.isolation`)."""
    return tuple(
        FindingView(
            code=f["code"],
            severity=f["severity"],
            message=f["message"],
            message_zh=f.get("message_zh", ""),
            evidence=redact_other_stores(f.get("evidence", ()), tenant=tenant),
        )
        for f in raw
    )


def order_evidence(
    data: OrderBundleData,
    *,
    verdict: Any,
    carriers: Mapping[str, CarrierInfo],
) -> OrderEvidence:
    """One order's evidence: its stored verdict, legs, chronological events and exchanges."""
    order = data.order
    legs: list[LegView] = []
    for leg in data.shipments:
        info = carriers.get(leg.carrier)
        legs.append(
            LegView(
                carrier=leg.carrier,
                carrier_name=leg.carrier_name or (info.name if info else leg.carrier),
                tracking_number=leg.tracking_number,
                role=leg.role,
                public_url=info.public_url(leg.tracking_number) if info else "",
                status=leg.carrier_status or leg.error_kind or leg.state,
                final=bool(leg.final),
            )
        )
    origin = carriers.get(order.carrier or "")
    return OrderEvidence(
        tenant=order.tenant,
        order_id=order.order_id,
        marketplace=order.marketplace,
        order_date=order.order_date,
        destination_country=order.destination_country,
        tracking_number=order.tracking_number,
        carrier=order.carrier or "",
        carrier_name=origin.name if origin else (order.carrier_declared or "unknown"),
        public_url=origin.public_url(order.tracking_number) if origin else "",
        verdict=verdict.status,
        policy=verdict.policy,
        milestones=_milestones(json.loads(verdict.milestones), data.events),
        findings=_findings(json.loads(verdict.findings), tenant=order.tenant),
        events=data.events,
        legs=tuple(legs),
        exchanges=data.exchanges,
        destination_city=order.destination_city,
        destination_postal_code=order.destination_postal_code,
        order_value=order.order_value,
        currency=order.currency,
        verdict_computed_at=verdict.computed_at,
    )


def iter_order_evidence(
    engine: Engine,
    *,
    carriers: Mapping[str, CarrierInfo],
    tenant: str | None = None,
    window: tuple[datetime, datetime] | None = None,
    verdicts: Sequence[str] = (),
    order_ids: Sequence[str] = (),
    chunk: int = 500,
) -> Iterator[OrderEvidence]:
    """Judged orders as evidence, streamed chunk by chunk (never all in memory)."""
    o = OrderRecord.__table__  # type: ignore[attr-defined]
    v = VerdictRecord.__table__  # type: ignore[attr-defined]
    for ids in iter_order_ids(engine, tenant=tenant, window=window, chunk=chunk):
        with engine.connect() as connection:
            query = sa.select(v).where(v.c.order_pk.in_(ids))
            if verdicts:
                query = query.where(v.c.status.in_(list(verdicts)))
            if order_ids:
                wanted = sa.select(o.c.id).where(o.c.order_id.in_(list(order_ids)))
                query = query.where(v.c.order_pk.in_(wanted))
            stored = {row.order_pk: row for row in connection.execute(query)}
            if not stored:
                continue
            for data in load_orders_data(connection, sorted(stored)):
                yield order_evidence(data, verdict=stored[data.order.id], carriers=carriers)
