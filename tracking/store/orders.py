"""Orders: storing them (with their shipments), paging through them, loading them whole.

`load_orders_data` / `bundles_for` read a chunk of orders with their legs, events and raw
exchanges in four queries: what judging, reports and evidence bundles all start from.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from tracking.core.fields import from_fields
from tracking.read.views import EventView, ExchangeView
from tracking.store.scopes import order_filters
from tracking.store.shipments import ensure_shipments
from tracking.store.statistics import refresh_statistics
from tracking.store.tables import (
    EVENTS,
    EXCHANGE_BODIES,
    EXCHANGE_SHIPMENTS,
    EXCHANGES,
    ORDERS,
    SHIPMENTS,
)
from tracking.store.writes import upsert

__all__ = [
    "OrderBundleData",
    "bundles_for",
    "iter_order_ids",
    "load_orders_data",
    "upsert_orders",
]

_ORDER_UPDATE = (
    "parcel_group",
    "marketplace",
    "order_date",
    "ship_date",
    "tracking_number",
    "carrier",
    "carrier_declared",
    "carrier_source",
    "destination_country",
    "destination_postal_code",
    "destination_city",
    "order_value",
    "currency",
    "shipment_id",
    "source",
    "last_run_id",
    "updated_at",
)


def upsert_orders(
    connection: Connection,
    *,
    orders: Sequence[Mapping[str, Any]],
    shipments: Sequence[tuple[str, str, str]],
) -> None:
    """Insert or update orders and make sure their (tenant, carrier, number) shipments exist.

    Each order mapping holds the `orders` columns plus `_shipment_key` (tenant, carrier,
    number) or None; the shipment id is resolved here. A shipment is its tenant's own: two
    tenants citing one number never share it (`tracking.store.isolation`).
    """
    ids = ensure_shipments(connection, shipments, created_at=orders[0]["updated_at"])
    rows = []
    for order in orders:
        row = {k: v for k, v in order.items() if k != "_shipment_key"}
        key = order.get("_shipment_key")
        row["shipment_id"] = ids.get(key) if key else None
        rows.append(row)
    upsert(connection, ORDERS, rows, conflict=("tenant", "order_id"), update=_ORDER_UPDATE)
    refresh_statistics(connection, table="orders", changed=len(rows))


@dataclass(frozen=True, slots=True)
class OrderBundleData:
    """An order with everything its verdict and evidence need."""

    order: Any  # row of `orders`
    shipments: tuple[Any, ...]  # origin leg first
    events: tuple[EventView, ...]
    exchanges: tuple[ExchangeView, ...]


def iter_order_ids(
    engine: Engine,
    *,
    run_id: str | None = None,
    tenant: str | None = None,
    window: tuple[datetime, datetime] | None = None,
    chunk: int = 1000,
) -> Iterator[list[int]]:
    """Order primary keys in chunks (keyset pagination), filtered by run, tenant, window."""
    filters = order_filters(
        (ORDERS.c.last_run_id, run_id), (ORDERS.c.tenant, tenant), window=window
    )
    query = sa.select(ORDERS.c.id).where(*filters).order_by(ORDERS.c.id).limit(chunk)
    last = 0
    while True:
        with engine.connect() as connection:
            ids = list(connection.execute(query.where(ORDERS.c.id > last)).scalars())
        if not ids:
            return
        yield ids
        last = ids[-1]


def load_orders_data(
    connection: Connection, order_ids: Sequence[int], *, with_exchanges: bool = True
) -> list[OrderBundleData]:
    """Orders with their legs, events and exchanges, in four queries for the whole chunk.

    Without `with_exchanges` (what judging needs), the exchange list stays empty and its
    query is skipped; events still name the exchange they came from.
    """
    orders = list(
        connection.execute(
            sa.select(ORDERS).where(ORDERS.c.id.in_(order_ids)).order_by(ORDERS.c.id)
        )
    )
    return bundles_for(connection, orders, with_exchanges=with_exchanges)


def bundles_for(
    connection: Connection, orders: Sequence[Any], *, with_exchanges: bool = True
) -> list[OrderBundleData]:
    """`load_orders_data` for order rows already read (or a split order's parcels, each as a
    copy of its order's row: see `tracking.store.parcels.parcel_orders`), in their order."""
    origin_ids = sorted({o.shipment_id for o in orders if o.shipment_id is not None})
    origin_set = set(origin_ids)
    shipments: dict[int, list[Any]] = defaultdict(list)
    all_ids: list[int] = []
    if origin_ids:
        rows = connection.execute(
            sa.select(SHIPMENTS)
            .where(sa.or_(SHIPMENTS.c.id.in_(origin_ids), SHIPMENTS.c.parent_id.in_(origin_ids)))
            .order_by(SHIPMENTS.c.id)
        )
        for row in rows:
            owner = row.id if row.parent_id is None or row.id in origin_set else row.parent_id
            shipments[owner].append(row)
            all_ids.append(row.id)
        for owner in shipments:
            shipments[owner].sort(key=lambda r: (r.parent_id is not None, r.id))
    by_shipment: dict[int, list[tuple[Any, ...]]] = defaultdict(list)
    for event_row in _event_rows_of(connection, all_ids):
        by_shipment[event_row[0]].append(event_row)
    exchanges: dict[int, list[Any]] = defaultdict(list)
    if all_ids and with_exchanges:
        for row in connection.execute(
            sa.select(
                EXCHANGE_SHIPMENTS.c.shipment_id,
                EXCHANGES.c.carrier,
                EXCHANGES.c.method,
                EXCHANGES.c.url,
                EXCHANGES.c.status,
                EXCHANGES.c.fetched_at,
                EXCHANGES.c.headers,
                EXCHANGES.c.tenant,
                EXCHANGE_BODIES.c.sha256,
                EXCHANGE_BODIES.c.size,
            )
            .join(EXCHANGES, EXCHANGES.c.id == EXCHANGE_SHIPMENTS.c.exchange_id)
            .join(EXCHANGE_BODIES, EXCHANGE_BODIES.c.sha256 == EXCHANGES.c.body_sha256)
            .where(EXCHANGE_SHIPMENTS.c.shipment_id.in_(all_ids))
            .order_by(EXCHANGES.c.fetched_at, EXCHANGES.c.id)
        ):
            exchanges[row.shipment_id].append(row)
    data: list[OrderBundleData] = []
    for order in orders:
        legs = tuple(shipments.get(order.shipment_id, [])) if order.shipment_id else ()
        events: list[EventView] = []
        seen: dict[str, ExchangeView] = {}
        for leg in legs:
            carrier, number = leg.carrier, leg.tracking_number
            # Positional, in EventView's field order (stage ... country), for speed.
            events.extend(
                EventView(r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], carrier, number, r[9])
                for r in by_shipment.get(leg.id, ())
            )
            for x in exchanges.get(leg.id, []):
                # Only the order's tenant's own requests (`tracking.store.isolation`).
                if x.sha256 not in seen and x.tenant == order.tenant:
                    pairs = tuple((str(k), str(v)) for k, v in json.loads(x.headers))
                    headers = dict(pairs)
                    seen[x.sha256] = from_fields(
                        ExchangeView,
                        x,
                        content_type=headers.get("content-type", "application/octet-stream"),
                        headers=pairs,
                    )
        events.sort(key=lambda e: e.occurred_at)
        data.append(
            OrderBundleData(
                order=order,
                shipments=legs,
                events=tuple(events),
                exchanges=tuple(seen.values()),
            )
        )
    return data


_EVENT_VIEW_COLUMNS = (
    EVENTS.c.shipment_id,
    EVENTS.c.stage,
    EVENTS.c.code,
    EVENTS.c.description,
    EVENTS.c.occurred_at,
    EVENTS.c.local_offset,
    EVENTS.c.time_source,
    EVENTS.c.location,
    EVENTS.c.country,
    EXCHANGES.c.body_sha256,
)


def _event_rows_of(
    connection: Connection, shipment_ids: Sequence[int]
) -> Iterator[tuple[Any, ...]]:
    """(shipment id, stage, code, description, occurred_at, local_offset, time_source,
    location, country, exchange sha256) of the shipments' events, oldest first per shipment.
    """
    for start in range(0, len(shipment_ids), 900):
        query = (
            sa.select(*_EVENT_VIEW_COLUMNS)
            .join(EXCHANGES, EXCHANGES.c.id == EVENTS.c.exchange_id)
            .where(EVENTS.c.shipment_id.in_(shipment_ids[start : start + 900]))
            .order_by(EVENTS.c.occurred_at, EVENTS.c.id)
        )
        yield from connection.execute(query)
