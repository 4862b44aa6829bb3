"""Assemble `OrderEvidence` views from storage, for the bundle, the CLI and the API."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.engine import Engine

from carriers.base import CarrierInfo
from tracking.core.fields import from_fields
from tracking.judge.findings import redact_other_stores
from tracking.read.views import (
    EventView,
    FindingView,
    LegView,
    MilestoneView,
    OrderEvidence,
    ParcelView,
)
from tracking.store.evidence_reads import stored_verdicts
from tracking.store.orders import OrderBundleData, bundles_for, iter_order_ids, load_orders_data
from tracking.store.parcels import parcel_orders

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
    (bundles print these pointers; `tracking.store.isolation`)."""
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


def _legs(data: OrderBundleData, carriers: Mapping[str, CarrierInfo]) -> tuple[LegView, ...]:
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
    return tuple(legs)


def _parcel(
    data: OrderBundleData, stored: Mapping[str, Any], carriers: Mapping[str, CarrierInfo]
) -> ParcelView:
    """One parcel of a split order, with the milestones its own verdict stored."""
    row = data.order
    info = carriers.get(row.carrier or "")
    return ParcelView(
        tracking_number=row.tracking_number,
        carrier=row.carrier or "",
        carrier_name=info.name if info else (row.carrier_declared or "unknown"),
        public_url=info.public_url(row.tracking_number) if info else "",
        milestones=_milestones(stored.get("milestones") or {}, data.events),
        events=data.events,
        legs=_legs(data, carriers),
        exchanges=data.exchanges,
        verdict=stored.get("status", ""),
    )


def order_evidence(
    data: OrderBundleData,
    *,
    verdict: Any,
    carriers: Mapping[str, CarrierInfo],
    parcels: Sequence[OrderBundleData] = (),
) -> OrderEvidence:
    """One order's evidence: its stored verdict, legs, chronological events and exchanges;
    with `parcels` (a split order's further parcels), every parcel's own. The fields named as
    the order's columns (order id and date, number, destination, value) are the stored ones."""
    order = data.order
    legs = _legs(data, carriers)
    raw = json.loads(verdict.milestones)
    views: tuple[ParcelView, ...] = ()
    if parcels:
        stored = {p.get("tracking_number"): p for p in raw.get("parcels") or ()}
        views = tuple(
            _parcel(d, stored.get(d.order.tracking_number) or {"milestones": raw}, carriers)
            for d in (data, *parcels)
        )
    origin = carriers.get(order.carrier or "")
    return from_fields(
        OrderEvidence,
        order,
        carrier=order.carrier or "",
        carrier_name=origin.name if origin else (order.carrier_declared or "unknown"),
        public_url=origin.public_url(order.tracking_number) if origin else "",
        verdict=verdict.status,
        policy=verdict.policy,
        milestones=_milestones(raw, data.events),
        findings=_findings(json.loads(verdict.findings), tenant=order.tenant),
        events=data.events,
        legs=legs,
        exchanges=data.exchanges,
        verdict_computed_at=verdict.computed_at,
        parcels=views,
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
    for ids in iter_order_ids(engine, tenant=tenant, window=window, chunk=chunk):
        with engine.connect() as connection:
            stored = stored_verdicts(connection, ids, verdicts=verdicts, order_ids=order_ids)
            if not stored:
                continue
            datas = load_orders_data(connection, sorted(stored))
            split = parcel_orders(connection, [d.order for d in datas])
            further: dict[int, list[OrderBundleData]] = {}
            for bundle in bundles_for(connection, [p for ps in split.values() for p in ps]):
                further.setdefault(bundle.order.id, []).append(bundle)
            for data in datas:
                yield order_evidence(
                    data,
                    verdict=stored[data.order.id],
                    carriers=carriers,
                    parcels=further.get(data.order.id, ()),
                )
