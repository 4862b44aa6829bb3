"""Shipments to poll and what a poll touches: claims, probes, and the orders to judge again.

The statements behind `tracking.fetch` (pull, refresh, pushes) and `tracking.workers` (claims of
the refresh planner and its batch jobs). `repository.due_shipments`/`claim_due_shipments` serve
a whole run; `claim_due` serves one carrier's slice at a time.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from tracking.store.engine import transaction
from tracking.store.shipments import DueShipment
from tracking.store.tables import ORDER_PARCELS as PARCELS
from tracking.store.tables import ORDERS as O
from tracking.store.tables import SHIPMENTS as S
from tracking.store.writes import insert_ignore

__all__ = [
    "add_probes",
    "claim_due",
    "lost_origins",
    "orders_touching",
    "shipments_by_id",
    "shipments_of_number",
    "still_claimed",
]

ClaimHook = Callable[[Connection, list[DueShipment]], None]
"""Called inside a claim's transaction with what was claimed (which may be nothing)."""


def claim_due(
    engine: Engine,
    *,
    carrier: str,
    now: datetime,
    claimed_until: datetime,
    limit: int,
    then: ClaimHook | None = None,
    idle_timeout: str | None = None,
) -> list[DueShipment]:
    """Claim up to `limit` due shipments of `carrier`: their `next_poll_at` becomes the lease.

    Never-polled shipments come first (partial index `ix_shipments_new`), then the most
    overdue (`ix_shipments_due`). On PostgreSQL the rows are taken `FOR UPDATE SKIP LOCKED`,
    so concurrent claimers never share a shipment.

    `then(connection, claimed)` runs in the claim's transaction (a worker queues the slice's
    job there: both commit or neither does). `idle_timeout` (PostgreSQL) cuts off a claimer
    that stays silent that long inside the transaction, so a hung one holds no rows.

    Kept apart from `repository.claim_due_shipments` (`refresh`'s one `UPDATE ... RETURNING`
    over all carriers): for one carrier that statement reaches both indexes only as a bitmap
    of every due row, sorted per claim - 51 ms against 15 ms here per 200-row claim with
    129,000 of 200,000 shipments due - while these two queries walk the indexes in order and
    stop at the limit.
    """
    with transaction(engine) as connection:
        postgres = connection.dialect.name == "postgresql"
        if idle_timeout is not None and postgres:
            connection.exec_driver_sql(
                f"SET LOCAL idle_in_transaction_session_timeout = '{idle_timeout}'"
            )
        picked: list[DueShipment] = []
        queries = [
            sa.select(S.c.id, S.c.carrier, S.c.tracking_number, S.c.tenant)
            .where(S.c.carrier == carrier, S.c.state == "new", S.c.next_poll_at.is_(None))
            .order_by(S.c.id),
            sa.select(S.c.id, S.c.carrier, S.c.tracking_number, S.c.tenant)
            .where(S.c.carrier == carrier, S.c.next_poll_at <= now)
            .order_by(S.c.next_poll_at),
        ]
        for query in queries:
            room = limit - len(picked)
            if room <= 0:
                break
            query = query.limit(room)
            if postgres:
                query = query.with_for_update(skip_locked=True)
            picked.extend(DueShipment(*row) for row in connection.execute(query))
        ids = [s.id for s in picked]
        for start in range(0, len(ids), 1000):
            connection.execute(
                sa.update(S)
                .where(S.c.id.in_(ids[start : start + 1000]))
                .values(next_poll_at=claimed_until)
            )
        if then is not None:
            then(connection, picked)
        return picked


def still_claimed(
    engine: Engine, *, shipment_ids: Sequence[int], claimed_until: datetime
) -> list[DueShipment]:
    """Those of `shipment_ids` still under a claim that ends by `claimed_until` (not polled
    since: storing a poll moves `next_poll_at` past the lease)."""
    with engine.connect() as connection:
        rows = connection.execute(
            sa.select(S.c.id, S.c.carrier, S.c.tracking_number, S.c.tenant)
            .where(
                S.c.id.in_(list(shipment_ids)),
                S.c.next_poll_at.is_not(None),
                S.c.next_poll_at <= claimed_until,
            )
            .order_by(S.c.id)
        )
        return [DueShipment(*row) for row in rows]


def shipments_by_id(engine: Engine, *, shipment_ids: Sequence[int]) -> list[DueShipment]:
    """The shipments `shipment_ids` that exist, whatever their `next_poll_at`, by id."""
    with engine.connect() as connection:
        rows = connection.execute(
            sa.select(S.c.id, S.c.carrier, S.c.tracking_number, S.c.tenant)
            .where(S.c.id.in_(list(shipment_ids)))
            .order_by(S.c.id)
        )
        return [DueShipment(*row) for row in rows]


def lost_origins(engine: Engine, *, run_id: str) -> list[DueShipment]:
    """Origin shipments of the run's orders that their carrier does not know (`not_found`)."""
    with engine.connect() as connection:
        rows = connection.execute(
            sa.select(S.c.id, S.c.carrier, S.c.tracking_number, S.c.tenant)
            .join(O, O.c.shipment_id == S.c.id)
            .where(O.c.last_run_id == run_id, S.c.state == "not_found", S.c.role == "origin")
            .distinct()
        )
        return [DueShipment(*row) for row in rows]


def add_probes(engine: Engine, probes: Sequence[Mapping[str, Any]]) -> None:
    """Insert probe legs (shipment rows), each unless its (tenant, carrier, number) exists."""
    if not probes:
        return
    with transaction(engine) as connection:
        insert_ignore(connection, S, probes, conflict=("tenant", "carrier", "tracking_number"))


def orders_touching(engine: Engine, *, shipment_ids: Sequence[int]) -> list[int]:
    """The orders whose shipment, or one of its legs, is among `shipment_ids`."""
    found: set[int] = set()
    with engine.connect() as connection:
        for start in range(0, len(shipment_ids), 500):
            ids = list(shipment_ids[start : start + 500])
            parents = sa.select(S.c.parent_id).where(S.c.id.in_(ids), S.c.parent_id.is_not(None))
            found.update(
                connection.execute(
                    sa.select(O.c.id).where(
                        sa.or_(O.c.shipment_id.in_(ids), O.c.shipment_id.in_(parents))
                    )
                ).scalars()
            )
            found.update(  # orders shipped in several parcels, through their other parcels
                connection.execute(
                    sa.select(PARCELS.c.order_pk).where(
                        sa.or_(PARCELS.c.shipment_id.in_(ids), PARCELS.c.shipment_id.in_(parents))
                    )
                ).scalars()
            )
    return sorted(found)


def shipments_of_number(engine: Engine, *, carrier: str, spellings: Sequence[str]) -> list[int]:
    """Ids of `carrier`'s shipments (in every tenant) whose number is one of `spellings`."""
    with engine.connect() as connection:
        return sorted(
            connection.execute(
                sa.select(S.c.id).where(
                    S.c.carrier == carrier, S.c.tracking_number.in_(list(spellings))
                )
            ).scalars()
        )
