"""Shipments by (tenant, carrier, number): created when an order or a parcel cites them,
found when due for a poll, claimed by one poller at a time.

A shipment is its tenant's own: two tenants citing one number never share it
(`tracking.store.isolation`). `ensure_shipments` serves `orders.upsert_orders` and
`parcels.store_parcels`; `due_shipments` and `claim_due_shipments` serve pulls and refreshes.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from tracking.store.engine import transaction
from tracking.store.scopes import dated_in
from tracking.store.tables import ORDER_PARCELS, ORDERS, SHIPMENTS
from tracking.store.writes import insert_ignore

__all__ = ["DueShipment", "claim_due_shipments", "due_shipments", "ensure_shipments"]


def ensure_shipments(
    connection: Connection, keys: Iterable[tuple[str, str, str]], *, created_at: datetime
) -> dict[tuple[str, str, str], int]:
    """Make sure each (tenant, carrier, number) shipment exists; their ids by key.

    A shipment is its tenant's own: two tenants citing one number never share it
    (`tracking.store.isolation`).
    """
    unique = sorted(set(keys))
    if not unique:
        return {}
    insert_ignore(
        connection,
        SHIPMENTS,
        [
            {
                "tenant": t,
                "carrier": c,
                "tracking_number": n,
                "role": "origin",
                "carrier_name": "",
                "state": "new",
                "carrier_status": "",
                "final": False,
                "poll_count": 0,
                "created_at": created_at,
            }
            for t, c, n in unique
        ],
        conflict=("tenant", "carrier", "tracking_number"),
    )
    return _shipment_ids(connection, unique)


def _shipment_ids(
    connection: Connection, keys: Sequence[tuple[str, str, str]]
) -> dict[tuple[str, str, str], int]:
    found: dict[tuple[str, str, str], int] = {}
    for start in range(0, len(keys), 400):
        chunk = keys[start : start + 400]
        numbers = sorted({n for _, _, n in chunk})
        rows = connection.execute(
            sa.select(
                SHIPMENTS.c.id,
                SHIPMENTS.c.tenant,
                SHIPMENTS.c.carrier,
                SHIPMENTS.c.tracking_number,
            ).where(SHIPMENTS.c.tracking_number.in_(numbers))
        )
        wanted = set(chunk)
        for sid, tenant, carrier, number in rows:
            if (tenant, carrier, number) in wanted:
                found[(tenant, carrier, number)] = sid
    return found


@dataclass(frozen=True, slots=True)
class DueShipment:
    id: int
    carrier: str
    tracking_number: str
    tenant: str
    """Whose shipment: a carrier request carries one tenant's numbers only."""


def due_shipments(
    engine: Engine,
    *,
    now: datetime,
    run_id: str | None = None,
    window: tuple[datetime, datetime] | None = None,
    carriers: Iterable[str],
    limit: int | None = None,
) -> list[DueShipment]:
    """Shipments to poll: never fetched, or due; restricted to a run's in-window orders.

    Legs (last-mile shipments) of those orders are included when their carrier is known.
    """
    codes = sorted(set(carriers))
    due = sa.or_(
        SHIPMENTS.c.state == "new",
        sa.and_(SHIPMENTS.c.next_poll_at.is_not(None), SHIPMENTS.c.next_poll_at <= now),
    )
    scope: sa.ColumnElement[bool] = sa.true()
    if run_id is not None:
        scope = sa.and_(scope, ORDERS.c.last_run_id == run_id)
    if window is not None:
        scope = sa.and_(scope, dated_in(window))
    origin_ids = sa.union(
        sa.select(ORDERS.c.shipment_id).where(scope, ORDERS.c.shipment_id.is_not(None)),
        sa.select(ORDER_PARCELS.c.shipment_id)  # the further parcels of split orders
        .join(ORDERS, ORDERS.c.id == ORDER_PARCELS.c.order_pk)
        .where(scope, ORDER_PARCELS.c.shipment_id.is_not(None)),
    )
    base: sa.ColumnElement[bool]
    if run_id is None and window is None:
        base = sa.true()
    else:
        base = sa.or_(SHIPMENTS.c.id.in_(origin_ids), SHIPMENTS.c.parent_id.in_(origin_ids))
    query = (
        sa.select(
            SHIPMENTS.c.id, SHIPMENTS.c.carrier, SHIPMENTS.c.tracking_number, SHIPMENTS.c.tenant
        )
        .where(base, due, SHIPMENTS.c.carrier.in_(codes))
        .order_by(SHIPMENTS.c.next_poll_at.is_not(None), SHIPMENTS.c.next_poll_at, SHIPMENTS.c.id)
    )
    if limit is not None:
        query = query.limit(limit)
    with engine.connect() as connection:
        return [DueShipment(*row) for row in connection.execute(query)]


def claim_due_shipments(
    engine: Engine,
    *,
    carriers: Iterable[str],
    now: datetime,
    claimed_until: datetime,
    limit: int,
) -> list[DueShipment]:
    """Claim up to `limit` due shipments: their `next_poll_at` becomes a lease.

    One atomic `UPDATE ... RETURNING` (with `SKIP LOCKED` on PostgreSQL), so refreshes run
    at the same time never poll a shipment twice; storing the result replaces the lease,
    and a shipment whose poller died becomes due again when the lease runs out.
    """
    codes = sorted(set(carriers))
    if not codes or limit <= 0:
        return []
    due = sa.or_(
        sa.and_(SHIPMENTS.c.state == "new", SHIPMENTS.c.next_poll_at.is_(None)),
        SHIPMENTS.c.next_poll_at <= now,
    )
    picked = (
        sa.select(SHIPMENTS.c.id)
        .where(due, SHIPMENTS.c.carrier.in_(codes))
        .order_by(SHIPMENTS.c.next_poll_at.is_not(None), SHIPMENTS.c.next_poll_at, SHIPMENTS.c.id)
        .limit(limit)
        # PostgreSQL skips rows another claim holds; SQLite, one writer at a time, renders
        # no FOR UPDATE clause at all (SQLAlchemy's SQLite compiler omits it).
        .with_for_update(skip_locked=True)
    )
    statement = (
        sa.update(SHIPMENTS)
        .where(SHIPMENTS.c.id.in_(picked.scalar_subquery()))
        .values(next_poll_at=claimed_until)
        .returning(
            SHIPMENTS.c.id, SHIPMENTS.c.carrier, SHIPMENTS.c.tracking_number, SHIPMENTS.c.tenant
        )
    )
    with transaction(engine) as connection:
        rows = connection.execute(statement).all()
    return sorted((DueShipment(*row) for row in rows), key=lambda s: s.id)


# -- storing carrier results -----------------------------------------------------------------
