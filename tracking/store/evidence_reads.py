"""Reads for the evidence bundle: the stored verdicts of a chunk of orders, and the policies
the stored verdicts of a window were judged under."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from tracking.store.handles import table_of
from tracking.store.tables import OrderRecord, VerdictRecord

__all__ = ["stored_policies", "stored_verdicts"]

OT = table_of(OrderRecord)
V = table_of(VerdictRecord)


def stored_verdicts(
    connection: Connection,
    order_pks: Sequence[int],
    *,
    verdicts: Sequence[str] = (),
    order_ids: Sequence[str] = (),
) -> dict[int, Any]:
    """The stored verdict row of each judged order of `order_pks`, by order pk; only the
    verdicts in `verdicts` and the orders named in `order_ids` when given."""
    query = sa.select(V).where(V.c.order_pk.in_(list(order_pks)))
    if verdicts:
        query = query.where(V.c.status.in_(list(verdicts)))
    if order_ids:
        wanted = sa.select(OT.c.id).where(OT.c.order_id.in_(list(order_ids)))
        query = query.where(V.c.order_pk.in_(wanted))
    return {row.order_pk: row for row in connection.execute(query)}


def stored_policies(engine: Engine, *, tenant: str, window: tuple[datetime, datetime]) -> list[str]:
    """The policies the stored verdicts of `tenant`'s orders dated in `window` name, sorted."""
    with engine.connect() as connection:
        return sorted(
            connection.execute(
                sa.select(V.c.policy)
                .join(OT, OT.c.id == V.c.order_pk)
                .where(OT.c.tenant == tenant, OT.c.order_date.between(*window))
                .distinct()
            ).scalars()
        )
