"""Keyword-only reads and writes behind the routes: orders, evidence, exchanges, summary.

Every function takes the tenant and never returns another tenant's data.
"""

from __future__ import annotations

import csv
import io
import json
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from carriers.base import CarrierInfo
from tracking.api.models import (
    AcceptedRow,
    CarrierFigure,
    EventPublic,
    EvidencePublic,
    ExchangePublic,
    FindingCount,
    FindingPublic,
    ImportResult,
    LegPublic,
    MilestoneCounts,
    MilestonePublic,
    OrderIn,
    OrderPublic,
    OrderSummary,
    ParcelPublic,
    RejectedRow,
    SummaryPublic,
    VerdictPublic,
    Window,
)
from tracking.fetch.orders import order_row
from tracking.ingest import ParcelRow, read_orders_bytes
from tracking.ingest import RejectedRow as IngestRejected
from tracking.judge.findings import redact_other_stores
from tracking.store.handles import table_of
from tracking.store.parcels import parcel_orders, store_parcels
from tracking.store.repository import bundles_for, load_orders_data, raw_body, upsert_orders
from tracking.store.storage import (
    ExchangeRecord,
    ExchangeShipment,
    OrderRecord,
    ShipmentRecord,
    VerdictRecord,
    transaction,
)

__all__ = [
    "MILESTONE_STAGES",
    "exchange_body",
    "import_orders",
    "list_orders",
    "order_evidence",
    "orders_csv",
    "portfolio_summary",
]

MILESTONE_STAGES = ("departed_origin", "arrived_destination", "delivered")
"""The three milestones, in the order a shipment reaches them."""

OT = table_of(OrderRecord)
S = table_of(ShipmentRecord)
X = table_of(ExchangeRecord)
XS = table_of(ExchangeShipment)
V = table_of(VerdictRecord)

_CHUNK = 1000
_CSV_COLUMNS = tuple(OrderIn.model_fields)


# -- import ----------------------------------------------------------------------------------


def orders_csv(items: Sequence[OrderIn]) -> bytes:
    """A JSON import as the CSV the command line reads (one row per item, all columns)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(_CSV_COLUMNS)
    for item in items:
        writer.writerow(["" if (v := getattr(item, c)) is None else str(v) for c in _CSV_COLUMNS])
    return buffer.getvalue().encode("utf-8")


@dataclass
class _Import:
    listed: int
    result: ImportResult = field(
        default_factory=lambda: ImportResult(
            rows_read=0, rows_accepted=0, rows_rejected=0, accepted=[], rejected=[], truncated=False
        )
    )

    def accept(self, row: AcceptedRow) -> None:
        self.result.rows_accepted += 1
        if len(self.result.accepted) < self.listed:
            self.result.accepted.append(row)
        else:
            self.result.truncated = True

    def reject(self, row: RejectedRow) -> None:
        self.result.rows_rejected += 1
        if len(self.result.rejected) < self.listed:
            self.result.rejected.append(row)
        else:
            self.result.truncated = True


def import_orders(
    engine: Engine,
    *,
    tenant: str,
    data: bytes,
    source: str,
    carriers: Mapping[str, CarrierInfo],
    from_json: bool = False,
    listed: int = 1000,
    timezone: str | None = None,
    columns: Mapping[str, str] | None = None,
) -> ImportResult:
    """Store the usable rows of an orders CSV for `tenant`, by the command line's rules.

    Rows whose store column names another tenant are rejected. With `from_json`, `data`
    is `orders_csv` output and each row also carries its item's index. At most `listed`
    accepted and rejected rows are listed (the counts are always complete).
    Raises `InputError` when the file cannot be used at all (nothing is written then).
    """
    orders_file = read_orders_bytes(
        data, source=source, tenant=tenant, timezone=timezone, columns=columns
    )
    first_row = orders_file.header_row + 1
    state = _Import(listed=listed)
    now = datetime.now(UTC)
    chunk: list[dict[str, Any]] = []
    keys: list[tuple[str, str, str]] = []

    def flush() -> None:
        if chunk:
            with transaction(engine) as connection:
                upsert_orders(connection, orders=chunk, shipments=keys)
            chunk.clear()
            keys.clear()

    parcels: list[dict[str, Any]] = []
    for item in orders_file:
        state.result.rows_read += 1
        index = item.row_number - first_row if from_json else None
        if isinstance(item, ParcelRow):  # another parcel of a split order: stored at the end
            if item.order.tenant == tenant:
                parcels.append(
                    order_row(item.order, carriers=carriers, run_id="", now=now, source=source)
                )
            continue
        if isinstance(item, IngestRejected):
            state.reject(
                RejectedRow(
                    row=item.row_number,
                    index=index,
                    column=item.column,
                    value=item.value,
                    reason=item.reason,
                )
            )
            continue
        if item.tenant != tenant:
            state.reject(
                RejectedRow(
                    row=item.row_number,
                    index=index,
                    column="store",
                    value=item.tenant[:200],
                    reason=(
                        f"the store column names {item.tenant!r}, but this API key belongs to "
                        f"{tenant!r}; import each store's orders with its own key"
                    ),
                )
            )
            continue
        mapping = order_row(item, carriers=carriers, run_id="", now=now, source=source)
        mapping["last_run_id"] = None
        chunk.append(mapping)
        if mapping["_shipment_key"] is not None:
            keys.append(mapping["_shipment_key"])
        state.accept(
            AcceptedRow(
                row=item.row_number,
                index=index,
                order_id=item.order_id,
                carrier=mapping["carrier"],
                carrier_source=mapping["carrier_source"],
            )
        )
        if len(chunk) >= _CHUNK:
            flush()
    flush()
    if parcels:
        with transaction(engine) as connection:
            state.result.parcels = store_parcels(connection, parcels)
    state.result.rows_read = orders_file.rows_read
    state.result.orders_read = orders_file.orders_read
    state.result.item_rows = orders_file.item_rows
    state.result.profile = orders_file.profile.key if orders_file.profile is not None else ""
    return state.result


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
    query = (
        sa.select(
            OT.c.id,
            OT.c.order_id,
            OT.c.marketplace,
            OT.c.order_date,
            OT.c.tracking_number,
            OT.c.carrier,
            OT.c.carrier_source,
            OT.c.destination_country,
            V.c.status,
            V.c.milestones,
            V.c.computed_at,
        )
        .outerjoin(V, V.c.order_pk == OT.c.id)
        .where(OT.c.tenant == tenant, OT.c.id > after)
        .order_by(OT.c.id)
        .limit(limit + 1)
    )
    if verdict is not None:
        query = query.where(V.c.status == verdict)
    if carrier is not None:
        query = query.where(OT.c.carrier == carrier)
    if window is not None:
        query = query.where(OT.c.order_date >= window[0], OT.c.order_date <= window[1])
    with engine.connect() as connection:
        rows = list(connection.execute(query))
    more = len(rows) > limit
    rows = rows[:limit]
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
    with engine.connect() as connection:
        pk = connection.execute(
            sa.select(OT.c.id).where(OT.c.tenant == tenant, OT.c.order_id == order_id)
        ).scalar_one_or_none()
        if pk is None:
            return None
        (data,) = load_orders_data(connection, [pk])
        verdict = connection.execute(sa.select(V).where(V.c.order_pk == pk)).first()
        further = parcel_orders(connection, [data.order]).get(pk, [])
        split = bundles_for(connection, further) if further else []
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
    query = (
        sa.select(X.c.headers)
        .where(X.c.body_sha256 == sha256, X.c.tenant == tenant)
        .order_by(X.c.fetched_at.desc(), X.c.id.desc())
        .limit(1)
    )
    with engine.connect() as connection:
        headers = connection.execute(query).scalar_one_or_none()
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


@dataclass
class _Group:
    orders: int = 0
    complete: int = 0
    verdicts: Counter[str] = field(default_factory=Counter)

    def figure(self, key: str) -> CarrierFigure:
        return CarrierFigure.model_validate(
            {
                "key": key,
                "orders": self.orders,
                "all_milestones": self.complete,
                "pass": self.verdicts["pass"],
                "fail": self.verdicts["fail"],
                "pending": self.verdicts["pending"],
                "not_judged": self.verdicts["none"],
            }
        )


def _figures(groups: Mapping[str, _Group]) -> list[CarrierFigure]:
    ordered = sorted(groups.items(), key=lambda item: (-item[1].orders, item[0]))
    return [group.figure(key) for key, group in ordered]


def portfolio_summary(
    engine: Engine, *, tenant: str, window: tuple[datetime, datetime]
) -> SummaryPublic:
    """The figures an appeal letter quotes for the tenant's orders dated in `window`."""
    query = (
        sa.select(
            OT.c.carrier,
            OT.c.destination_country,
            V.c.status,
            V.c.milestones,
            V.c.findings,
        )
        .outerjoin(V, V.c.order_pk == OT.c.id)
        .where(
            OT.c.tenant == tenant,
            OT.c.order_date >= window[0],
            OT.c.order_date <= window[1],
        )
    )
    total = _Group()
    by_carrier: dict[str, _Group] = defaultdict(_Group)
    by_country: dict[str, _Group] = defaultdict(_Group)
    milestones = {stage: Counter[str]() for stage in MILESTONE_STAGES}
    findings: dict[tuple[str, str], int] = Counter()
    with engine.connect() as connection:
        for row in connection.execute(query):
            complete = False
            if row.status is not None:
                statuses = _milestone_statuses(row.milestones) or {}
                complete = all(statuses[s] != "missing" for s in MILESTONE_STAGES)
                for stage in MILESTONE_STAGES:
                    milestones[stage][statuses[stage]] += 1
                for code, severity in {
                    (f["code"], f["severity"]) for f in json.loads(row.findings)
                }:
                    findings[(code, severity)] += 1
            for group in (
                total,
                by_carrier[row.carrier or "unknown"],
                by_country[row.destination_country],
            ):
                group.orders += 1
                group.complete += complete
                group.verdicts[row.status or "none"] += 1
    judged = total.orders - total.verdicts["none"]
    headline = f"{total.complete} of {judged} orders have all three milestones"
    if total.verdicts["none"]:
        headline += f" ({total.verdicts['none']} not checked yet)"
    return SummaryPublic(
        window=Window(start=window[0], end=window[1]),
        orders=total.orders,
        judged=judged,
        verdicts={k: total.verdicts[k] for k in ("pass", "fail", "pending")},
        not_judged=total.verdicts["none"],
        all_milestones=total.complete,
        milestones={
            stage: MilestoneCounts(
                explicit=c["explicit"], inferred=c["inferred"], missing=c["missing"]
            )
            for stage, c in milestones.items()
        },
        by_carrier=_figures(by_carrier),
        by_destination=_figures(by_country),
        findings=[
            FindingCount(code=code, severity=severity, orders=n)
            for (code, severity), n in sorted(findings.items(), key=lambda i: (-i[1], i[0]))
        ],
        headline=headline,
    )
