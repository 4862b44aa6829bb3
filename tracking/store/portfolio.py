"""Portfolio reads: every order of a window with its stored verdict, and the orders of one
seller citing the same tracking numbers.

`portfolio_rows` is the one query behind the portfolio summary (`tracking.read.portfolio`),
which the report, the API and the bundle's precheck render. `number_holders` and
`shared_tracking` read the facts of the cross-order checks (`tracking.judge.crosscheck`):
one indexed query per chunk of numbers (`orders.tracking_number` is indexed), never a loop
over all orders.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from tracking.core.fields import from_fields
from tracking.judge.crosscheck import OrderRef, shared_among
from tracking.store.isolation import group_keys
from tracking.store.parcels import further_numbers
from tracking.store.scopes import ORDER_LINE_COLUMNS, ORDERS_WITH_VERDICTS, dated_in
from tracking.store.tables import ORDER_PARCELS as P
from tracking.store.tables import ORDERS as OT
from tracking.store.tables import VERDICTS as V

__all__ = [
    "PortfolioRow",
    "number_holders",
    "portfolio_rows",
    "shared_tracking",
]

_IN_CHUNK = 1000


@dataclass(frozen=True, slots=True)
class PortfolioRow:
    """One order of a window with its stored verdict (`status` None: never judged).

    `milestones` and `findings` are the verdict's JSON as stored; `numbers` every tracking
    number of the order, its first parcel's first (a split order has several).
    """

    tenant: str
    order_id: str
    order_date: datetime
    numbers: tuple[str, ...]
    carrier: str
    destination_country: str
    status: str | None
    policy: str | None
    milestones: str | None
    findings: str | None


def portfolio_rows(
    engine: Engine,
    *,
    tenant: str | None,
    window: tuple[datetime, datetime],
    chunk: int = _IN_CHUNK,
) -> Iterator[PortfolioRow]:
    """Every order of `tenant` (None: every store) dated in `window` (both ends included),
    oldest primary key first, with its stored verdict and every parcel's number.

    One query per `chunk` orders (keyset pagination on the primary key), streamed: never all
    orders in memory.
    """
    query = (
        sa.select(*ORDER_LINE_COLUMNS, OT.c.tenant, V.c.policy)
        .select_from(ORDERS_WITH_VERDICTS)
        .where(dated_in(window))
        .order_by(OT.c.id)
        .limit(chunk)
    )
    if tenant is not None:
        query = query.where(OT.c.tenant == tenant)
    last = 0
    while True:
        with engine.connect() as connection:
            rows = list(connection.execute(query.where(OT.c.id > last)))
            if not rows:
                return
            split = further_numbers(connection, [row.id for row in rows])
        for row in rows:
            yield from_fields(
                PortfolioRow,
                row,
                numbers=(row.tracking_number, *(n for _, n in split.get(row.id, ()))),
                carrier=row.carrier or "",
            )
        last = rows[-1].id


def number_holders(connection: Connection, numbers: Sequence[str]) -> dict[str, list[OrderRef]]:
    """Every order citing one of `numbers`, as its first parcel or a further one (split
    orders), by number. One query of each kind per 1,000 numbers."""
    holders: dict[str, list[OrderRef]] = defaultdict(list)
    for start in range(0, len(numbers), _IN_CHUNK):
        chunk = list(numbers[start : start + _IN_CHUNK])
        rows = connection.execute(
            sa.select(
                OT.c.id, OT.c.tenant, OT.c.order_id, OT.c.tracking_number, OT.c.parcel_group
            ).where(OT.c.tracking_number.in_(chunk))
        )
        for pk, tenant, order_id, number, group in rows:
            holders[number].append(OrderRef(tenant, order_id, pk, group or ""))
        parcels = connection.execute(  # further parcels of split orders cite numbers too
            sa.select(OT.c.id, OT.c.tenant, OT.c.order_id, P.c.tracking_number, OT.c.parcel_group)
            .join(OT, OT.c.id == P.c.order_pk)
            .where(P.c.tracking_number.in_(chunk))
        )
        for pk, tenant, order_id, number, group in parcels:
            holders[number].append(OrderRef(tenant, order_id, pk, group or ""))
    return dict(holders)


def shared_tracking(
    connection: Connection, orders: Sequence[tuple[int, str]]
) -> dict[int, tuple[OrderRef, ...]]:
    """For each (order pk, tracking number), the *other* orders of its account group citing
    the same number (`tracking.judge.crosscheck.shared_among`).

    Orders with no such order are left out. Empty numbers are ignored. One query per 1,000
    distinct numbers, and one for the groups of the tenants found.
    """
    holders = number_holders(connection, sorted({number for _, number in orders if number}))
    tenants = {ref.tenant for refs in holders.values() if len(refs) > 1 for ref in refs}
    if not tenants:
        return {}
    return shared_among(orders, holders, group_keys(connection, tenants))
