"""One tenant's orders as the API reads them: pages, one order whole, summary rows, counts.

Every function takes the tenant and never reads another tenant's rows (design §13).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeAlias

import sqlalchemy as sa
from sqlalchemy.engine import Engine, Row

from tracking.store.orders import OrderBundleData, bundles_for, load_orders_data
from tracking.store.parcels import parcel_orders
from tracking.store.scopes import ORDERS_WITH_VERDICTS, dated_in, order_filters
from tracking.store.tables import EXCHANGES, ORDERS, VERDICTS

__all__ = [
    "AnyRow",
    "OrderRecordSet",
    "bundle_counts",
    "count_orders",
    "exchange_headers",
    "order_page",
    "order_record_set",
    "summary_rows",
]

AnyRow: TypeAlias = Row[*tuple[Any, ...]]
"""A result row of any width (its columns are named in each function's docstring)."""


def order_page(
    engine: Engine,
    *,
    tenant: str,
    after: int,
    limit: int,
    verdict: str | None = None,
    carrier: str | None = None,
    window: tuple[datetime, datetime] | None = None,
) -> tuple[list[AnyRow], bool]:
    """Up to `limit` of the tenant's orders after primary key `after`, with their verdicts,
    and whether more follow.

    Each row: id, order_id, marketplace, order_date, tracking_number, carrier,
    carrier_source, destination_country, status, milestones, computed_at (the last three
    None for an order not judged yet).
    """
    query = (
        sa.select(
            ORDERS.c.id,
            ORDERS.c.order_id,
            ORDERS.c.marketplace,
            ORDERS.c.order_date,
            ORDERS.c.tracking_number,
            ORDERS.c.carrier,
            ORDERS.c.carrier_source,
            ORDERS.c.destination_country,
            VERDICTS.c.status,
            VERDICTS.c.milestones,
            VERDICTS.c.computed_at,
        )
        .select_from(ORDERS_WITH_VERDICTS)
        .where(
            ORDERS.c.tenant == tenant,
            ORDERS.c.id > after,
            *order_filters(
                (VERDICTS.c.status, verdict), (ORDERS.c.carrier, carrier), window=window
            ),
        )
        .order_by(ORDERS.c.id)
        .limit(limit + 1)
    )
    with engine.connect() as connection:
        rows = list(connection.execute(query))
    return rows[:limit], len(rows) > limit


@dataclass(frozen=True, slots=True)
class OrderRecordSet:
    """One order as stored: its data, its verdict row (None before judging) and, for a split
    order, each further parcel's data (`tracking.store.parcels`)."""

    data: OrderBundleData
    verdict: AnyRow | None
    further: Sequence[OrderBundleData]


def order_record_set(engine: Engine, *, tenant: str, order_id: str) -> OrderRecordSet | None:
    """Everything stored about one of the tenant's orders; None when it has no such order."""
    with engine.connect() as connection:
        pk = connection.execute(
            sa.select(ORDERS.c.id).where(ORDERS.c.tenant == tenant, ORDERS.c.order_id == order_id)
        ).scalar_one_or_none()
        if pk is None:
            return None
        (data,) = load_orders_data(connection, [pk])
        verdict = connection.execute(sa.select(VERDICTS).where(VERDICTS.c.order_pk == pk)).first()
        parcels = parcel_orders(connection, [data.order]).get(pk, [])
        further = bundles_for(connection, parcels) if parcels else []
    return OrderRecordSet(data=data, verdict=verdict, further=further)


def exchange_headers(engine: Engine, *, tenant: str, sha256: str) -> str | None:
    """The stored headers (JSON pairs) of the tenant's latest exchange with this body; None
    when no request of the tenant's own got it (`tracking.store.isolation`)."""
    query = (
        sa.select(EXCHANGES.c.headers)
        .where(EXCHANGES.c.body_sha256 == sha256, EXCHANGES.c.tenant == tenant)
        .order_by(EXCHANGES.c.fetched_at.desc(), EXCHANGES.c.id.desc())
        .limit(1)
    )
    with engine.connect() as connection:
        headers: str | None = connection.execute(query).scalar_one_or_none()
    return headers


def summary_rows(
    engine: Engine, *, tenant: str, window: tuple[datetime, datetime]
) -> Iterator[AnyRow]:
    """(carrier, destination_country, status, milestones, findings) of each of the tenant's
    orders dated in `window` (the verdict columns None for an order not judged yet)."""
    query = (
        sa.select(
            ORDERS.c.carrier,
            ORDERS.c.destination_country,
            VERDICTS.c.status,
            VERDICTS.c.milestones,
            VERDICTS.c.findings,
        )
        .select_from(ORDERS_WITH_VERDICTS)
        .where(ORDERS.c.tenant == tenant, dated_in(window))
    )
    with engine.connect() as connection:
        yield from connection.execute(query)


def count_orders(engine: Engine, *, tenant: str) -> int:
    """How many orders the tenant stores."""
    with engine.connect() as connection:
        return int(
            connection.execute(
                sa.select(sa.func.count()).select_from(ORDERS).where(ORDERS.c.tenant == tenant)
            ).scalar_one()
        )


def bundle_counts(
    engine: Engine,
    *,
    tenant: str,
    window: tuple[datetime, datetime],
    verdicts: Sequence[str] | None = None,
) -> tuple[int, int]:
    """(judged orders in the window, with one of `verdicts` when given; orders in the window
    without a verdict): what a bundle takes and what it skips."""
    scope = sa.and_(ORDERS.c.tenant == tenant, dated_in(window))
    judged = (
        sa.select(sa.func.count())
        .select_from(ORDERS.join(VERDICTS, VERDICTS.c.order_pk == ORDERS.c.id))
        .where(scope)
    )
    if verdicts:
        judged = judged.where(VERDICTS.c.status.in_(list(verdicts)))
    missing = (
        sa.select(sa.func.count())
        .select_from(ORDERS_WITH_VERDICTS)
        .where(scope, VERDICTS.c.order_pk.is_(None))
    )
    with engine.connect() as connection:
        return (
            int(connection.execute(judged).scalar_one()),
            int(connection.execute(missing).scalar_one()),
        )
