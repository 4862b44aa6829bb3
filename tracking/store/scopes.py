"""What many order queries share: the orders dated in a window, the orders with their
verdicts, and the columns an order's line is read with.

Imported by the topic modules (orders, shipments, runs, tenant_orders, order_pages,
portfolio, listing), so a window's bounds, the optional filters or the verdict join are
written once.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa

from tracking.store.tables import ORDERS, VERDICTS

__all__ = ["ORDERS_WITH_VERDICTS", "ORDER_LINE_COLUMNS", "dated_in", "order_filters"]


def dated_in(window: tuple[datetime, datetime]) -> sa.ColumnElement[bool]:
    """Orders dated in `window`, both ends included."""
    return sa.and_(ORDERS.c.order_date >= window[0], ORDERS.c.order_date <= window[1])


def order_filters(
    *equal: tuple[sa.ColumnElement[Any], object],
    window: tuple[datetime, datetime] | None = None,
) -> list[sa.ColumnElement[bool]]:
    """The conditions of an order query's optional filters: each `(column, value)` of `equal`
    whose value is given (not None), and the orders dated in `window` when it is given."""
    conditions = [column == value for column, value in equal if value is not None]
    if window is not None:
        conditions.append(dated_in(window))
    return conditions


ORDERS_WITH_VERDICTS = ORDERS.outerjoin(VERDICTS, VERDICTS.c.order_pk == ORDERS.c.id)
"""Every order with its verdict's columns (None for an order not judged yet)."""

ORDER_LINE_COLUMNS = (
    ORDERS.c.id,
    ORDERS.c.order_id,
    ORDERS.c.order_date,
    ORDERS.c.tracking_number,
    ORDERS.c.carrier,
    ORDERS.c.destination_country,
    VERDICTS.c.status,
    VERDICTS.c.milestones,
    VERDICTS.c.findings,
)
"""An order's line as listed (the console's orders table, the portfolio), from
`ORDERS_WITH_VERDICTS`."""
