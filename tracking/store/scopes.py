"""What many order queries share: the orders dated in a window, the orders with their
verdicts, and the columns an order's line is read with.

Imported by the topic modules (orders, shipments, runs, tenant_orders, order_pages,
portfolio, listing), so a window's bounds or the verdict join are written once.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from tracking.store.tables import ORDERS, VERDICTS

__all__ = ["ORDERS_WITH_VERDICTS", "ORDER_LINE_COLUMNS", "dated_in"]


def dated_in(window: tuple[datetime, datetime]) -> sa.ColumnElement[bool]:
    """Orders dated in `window`, both ends included."""
    return sa.and_(ORDERS.c.order_date >= window[0], ORDERS.c.order_date <= window[1])


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
