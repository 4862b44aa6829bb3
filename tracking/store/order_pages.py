"""The console's order queries: one filtered page by keyset, counts by verdict, one order.

A page is read newest order first by `(order_date, id)` below the last row of the previous
page, through the `ix_orders_tenant_date` index (on SQLite its rowid completes the key), so
page 1 and page 2,000 of a 100,000-order store cost the same: no OFFSET ever counts the rows
it skips. Every query names the tenant.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.sql.expression import UnaryExpression
from sqlalchemy.sql.operators import custom_op

from tracking.core.fields import from_fields
from tracking.store.orders import OrderBundleData
from tracking.store.scopes import ORDER_LINE_COLUMNS, ORDERS_WITH_VERDICTS
from tracking.store.tables import ORDERS as OT
from tracking.store.tenant_orders import order_record_set

__all__ = [
    "OrderFilter",
    "OrderLine",
    "PageKey",
    "order_data",
    "order_page",
    "verdict_counts",
]

_FEW = 5000  # matches sorted rather than walked (see order_page)

PageKey = tuple[datetime, int]
"""Where a page starts: below this (order_date, id)."""


@dataclass(frozen=True, slots=True)
class OrderFilter:
    """What the orders table shows; every field is optional.

    `verdict` is pass | fail | pending | none (not judged yet); `search` matches the start of
    an order id or a tracking number; `finding` is a finding code of the catalogue.
    """

    verdict: str | None = None
    carrier: str | None = None
    destination: str | None = None
    finding: str | None = None
    window: tuple[datetime, datetime] | None = None
    search: str | None = None


@dataclass(frozen=True, slots=True)
class OrderLine:
    """One row of the orders table."""

    order_id: str
    order_date: datetime
    tracking_number: str
    carrier: str | None
    destination_country: str
    verdict: str | None
    milestones: str | None  # the stored milestones JSON, None when not judged
    findings: str | None  # the stored findings JSON


def _prefix(column: sa.ColumnElement[Any], text: str) -> sa.ColumnElement[bool]:
    # A range, not LIKE: SQLite's LIKE ignores case and so cannot use the index.
    return sa.and_(column >= text, column < text + "\U0010ffff")


def _unindexed(column: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
    """`+column`: SQLite's way to keep a term from choosing the index
    (https://sqlite.org/optoverview.html#disqualifying_where_clause_terms_using_unary_)."""
    return UnaryExpression(column, operator=custom_op("+"), type_=column.type)


def _where(
    tenant: str, f: OrderFilter, *, with_verdict: bool = True, tenant_only: bool = False
) -> list[Any]:
    """The filter's terms; with `tenant_only` (SQLite) only the tenant's term picks an index."""

    def c(column: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
        return _unindexed(column) if tenant_only else column

    clauses: list[Any] = [OT.c.tenant == tenant]
    if f.carrier:
        clauses.append(c(OT.c.carrier) == f.carrier)
    if f.destination:
        clauses.append(c(OT.c.destination_country) == f.destination)
    if f.window is not None:
        clauses.append(c(OT.c.order_date).between(*f.window))
    if f.search:
        clauses.append(
            sa.or_(_prefix(OT.c.order_id, f.search), _prefix(OT.c.tracking_number, f.search))
        )
    if f.finding:
        # the order's copy of its verdict's finding codes (`|a.b|c.d|`, recompute_verdicts)
        needle = "|" + f.finding.replace("|", "") + "|"
        clauses.append(c(OT.c.finding_codes).contains(needle, autoescape=True))
    if with_verdict and f.verdict:
        # the order's own copy of its verdict's status: read by ix_orders_tenant_verdict_date
        status = OT.c.verdict_status
        clauses.append(status.is_(None) if f.verdict == "none" else status == f.verdict)
    return clauses


def order_page(
    engine: Engine,
    *,
    tenant: str,
    where: OrderFilter,
    after: PageKey | None = None,
    limit: int = 50,
    matching: int | None = None,
) -> tuple[list[OrderLine], PageKey | None]:
    """One page of the tenant's orders, newest first, and the key of the next page (if any).

    `matching`: how many orders the filter matches, when the caller knows (the counts). On
    SQLite, when they are few, the page is read from the covering `ix_orders_tenant_facets`
    entries and sorted (~5 ms at 100,000 orders) instead of walking the tenant's orders newest
    first until a page is full, which for a rare carrier or finding reads them all (~140 ms).
    """
    if matching == 0:
        return [], None
    few = engine.dialect.name == "sqlite" and matching is not None and matching <= _FEW
    date, pk = (
        (_unindexed(OT.c.order_date), _unindexed(OT.c.id)) if few else (OT.c.order_date, OT.c.id)
    )
    query = (
        sa.select(*ORDER_LINE_COLUMNS)
        .select_from(ORDERS_WITH_VERDICTS)
        .where(*_where(tenant, where, tenant_only=few and not where.search))
        .order_by(OT.c.order_date.desc(), OT.c.id.desc())
        .limit(limit + 1)
    )
    if after is not None:
        query = query.where(sa.tuple_(date, pk) < sa.tuple_(*after))
    with engine.connect() as connection:
        rows = list(connection.execute(query))
    more = len(rows) > limit
    rows = rows[:limit]
    lines = [from_fields(OrderLine, r, verdict=r.status) for r in rows]
    return lines, ((rows[-1].order_date, rows[-1].id) if more and rows else None)


def verdict_counts(engine: Engine, *, tenant: str, where: OrderFilter) -> dict[str, int]:
    """How many of the filtered orders have each verdict (`none`: not judged yet); the
    verdict filter itself is left out, so the counts say what each choice would show.

    Counted on the orders' own `verdict_status`, filtered on their own columns: read from
    the covering `ix_orders_tenant_facets` index alone, never a table row nor a verdict.
    """
    # Without a search, SQLite's planner would rather read a narrower index and a table row
    # per order (~100 ms at 100,000 orders with a carrier or a window) than the tenant's
    # entries of the covering index (~10 ms): the other terms are kept off the index. A search
    # reads its own two index ranges.
    tenant_only = engine.dialect.name == "sqlite" and not where.search
    query = (
        sa.select(OT.c.verdict_status, sa.func.count())
        .select_from(OT)
        .where(*_where(tenant, where, with_verdict=False, tenant_only=tenant_only))
        .group_by(OT.c.verdict_status)
    )
    with engine.connect() as connection:
        return {(status or "none"): int(n) for status, n in connection.execute(query)}


def order_data(
    engine: Engine, *, tenant: str, order_id: str
) -> tuple[OrderBundleData, Any, Sequence[OrderBundleData]] | None:
    """(stored data, verdict row or None, further parcels' data) of one of the tenant's
    orders; None when the tenant has no such order."""
    found = order_record_set(engine, tenant=tenant, order_id=order_id)
    return None if found is None else (found.data, found.verdict, found.further)
