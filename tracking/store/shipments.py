"""Shipments by (tenant, carrier, number): created when an order or a parcel cites them.

A shipment is its tenant's own: two tenants citing one number never share it
(`tracking.store.isolation`). Used by `repository.upsert_orders` and `parcels.store_parcels`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from tracking.store.handles import table_of
from tracking.store.storage import ShipmentRecord, insert_ignore

__all__ = ["ensure_shipments"]

S = table_of(ShipmentRecord)


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
        S,
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
            sa.select(S.c.id, S.c.tenant, S.c.carrier, S.c.tracking_number).where(
                S.c.tracking_number.in_(numbers)
            )
        )
        wanted = set(chunk)
        for sid, tenant, carrier, number in rows:
            if (tenant, carrier, number) in wanted:
                found[(tenant, carrier, number)] = sid
    return found
