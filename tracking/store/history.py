"""Reads of stored verdicts and their history: the finding history of orders, and the orders a
stored verdict names as sharing its tracking number.

The judging itself is pure (`tracking.judge.history`, `tracking.judge.crosscheck`); this module
only reads, one query per 1,000 orders.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from tracking.judge.crosscheck import SHARED_CODES, shared_pointers
from tracking.judge.history import VerdictSnapshot
from tracking.store.handles import table_of
from tracking.store.tables import OrderRecord, VerdictHistory, VerdictRecord

__all__ = ["former_partners", "orders_named", "verdict_history"]

OT = table_of(OrderRecord)
V = table_of(VerdictRecord)
VH = table_of(VerdictHistory)

_IN_CHUNK = 1000


def verdict_history(
    connection: Connection, order_pks: Sequence[int]
) -> dict[int, list[VerdictSnapshot]]:
    """The verdict history of each of `order_pks`, oldest first (never judged: left out)."""
    found: dict[int, list[VerdictSnapshot]] = defaultdict(list)
    ordered = sorted(set(order_pks))
    for start in range(0, len(ordered), _IN_CHUNK):
        chunk = ordered[start : start + _IN_CHUNK]
        for row in connection.execute(
            sa.select(VH.c.order_pk, VH.c.policy, VH.c.findings, VH.c.computed_at)
            .where(VH.c.order_pk.in_(chunk))
            .order_by(VH.c.order_pk, VH.c.computed_at, VH.c.id)
        ):
            found[row.order_pk].append(VerdictSnapshot(row.policy, row.findings, row.computed_at))
    return dict(found)


def former_partners(connection: Connection, order_pks: Sequence[int]) -> set[int]:
    """Orders that the stored verdicts of `order_pks` name as sharing their number.

    When an order's number changes (a corrected orders file), the orders it used to share
    it with must be judged again, or they would keep a `number.shared` finding that is no
    longer true.
    """
    pairs: set[tuple[str, str]] = set()
    for start in range(0, len(order_pks), _IN_CHUNK):
        chunk = list(order_pks[start : start + _IN_CHUNK])
        rows = connection.execute(
            sa.select(V.c.findings).where(
                V.c.order_pk.in_(chunk),
                sa.or_(*(V.c.findings.contains(f'"{code}"') for code in SHARED_CODES)),
            )
        )
        for (text,) in rows:
            pairs.update(shared_pointers(text))
    return orders_named(connection, pairs)


def orders_named(connection: Connection, pairs: set[tuple[str, str]]) -> set[int]:
    """The primary keys of the orders named by (tenant, order id) `pairs`."""
    found: set[int] = set()
    ordered = sorted(pairs)
    for start in range(0, len(ordered), 400):
        chunk = ordered[start : start + 400]
        found.update(
            connection.execute(
                sa.select(OT.c.id).where(sa.tuple_(OT.c.tenant, OT.c.order_id).in_(chunk))
            ).scalars()
        )
    return found
