"""Stored verdicts as `status` lists them: one page of orders, their legs and parcels, the total.

The total comes with the page, so a list that is cut says so ("showing 50 of 62").
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from tracking.store.handles import table_of
from tracking.store.parcels import further_numbers, status_parcels
from tracking.store.scopes import dated_in
from tracking.store.tables import OrderRecord, ShipmentRecord, VerdictRecord

__all__ = ["VerdictPage", "count_judged", "list_verdicts"]

_O = table_of(OrderRecord)
_V = table_of(VerdictRecord)
_S = table_of(ShipmentRecord)


@dataclass(frozen=True, slots=True)
class VerdictPage:
    """Up to `limit` orders with their verdicts (newest orders first) and how many match."""

    items: list[dict[str, Any]]
    total: int


def list_verdicts(
    engine: Engine,
    *,
    order: str | None = None,
    verdict: str | None = None,
    tenant: str | None = None,
    limit: int | None = 50,
) -> VerdictPage:
    """Judged orders matching the filters, each as `status --json` prints it."""
    scope: list[sa.ColumnElement[bool]] = []
    if order is not None:
        scope.append(_O.c.order_id == order)
    if verdict is not None:
        scope.append(_V.c.status == verdict)
    if tenant is not None:
        scope.append(_O.c.tenant == tenant)
    joined = _O.join(_V, _V.c.order_pk == _O.c.id)
    query = (
        sa.select(
            _O.c.tenant,
            _O.c.order_id,
            _O.c.order_date,
            _O.c.carrier,
            _O.c.tracking_number,
            _O.c.destination_country,
            _V.c.status,
            _V.c.policy,
            _V.c.milestones,
            _V.c.findings,
            _V.c.computed_at,
            _O.c.id.label("pk"),
        )
        .select_from(joined)
        .where(*scope)
        .order_by(_O.c.order_date.desc(), _O.c.id)
    )
    if limit is not None:
        query = query.limit(limit)
    counted = sa.select(sa.func.count()).select_from(joined).where(*scope)
    with engine.connect() as connection:
        rows = list(connection.execute(query))
        total = int(connection.execute(counted).scalar_one())
        split = further_numbers(connection, [r.pk for r in rows])
        numbers = [n for ps in split.values() for _, n in ps]
        legs = _legs(connection, [r.tracking_number for r in rows] + numbers)
    tenant_legs: dict[str, dict[tuple[str, str], list[dict[str, Any]]]] = {}
    for (t, c, n), chain in legs.items():  # each order sees its own tenant's shipments
        tenant_legs.setdefault(t, {})[(c, n)] = chain
    items = [
        {
            "tenant": r.tenant,
            "order_id": r.order_id,
            "order_date": r.order_date.isoformat(),
            "carrier": r.carrier,
            "tracking_number": r.tracking_number,
            "destination_country": r.destination_country,
            "verdict": r.status,
            "policy": r.policy,
            "milestones": json.loads(r.milestones),
            "findings": json.loads(r.findings),
            "computed_at": r.computed_at.isoformat(),
            "legs": tenant_legs.get(r.tenant, {}).get((r.carrier, r.tracking_number), []),
            "parcels": status_parcels(  # a split order's parcels, the first included
                (r.carrier or "", r.tracking_number),
                split[r.pk],
                json.loads(r.milestones),
                tenant_legs.get(r.tenant, {}),
            )
            if r.pk in split
            else [],
        }
        for r in rows
    ]
    return VerdictPage(items=items, total=total)


def count_judged(engine: Engine, *, tenant: str, window: tuple[datetime, datetime]) -> int:
    """Judged orders of `tenant` in the window: what an export goes through."""
    query = (
        sa.select(sa.func.count())
        .select_from(_O.join(_V, _V.c.order_pk == _O.c.id))
        .where(_O.c.tenant == tenant, dated_in(window))
    )
    with engine.connect() as connection:
        return int(connection.execute(query).scalar_one())


def _legs(
    connection: Connection, numbers: list[str]
) -> dict[tuple[str, str, str], list[dict[str, Any]]]:
    """Chain of custody per origin shipment (tenant, carrier, number): the origin leg, then
    the legs it handed over to."""
    child = _S.alias("child")
    found: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
    if not numbers:
        return found
    query = (
        sa.select(
            _S,
            child.c.carrier.label("c_carrier"),
            child.c.tracking_number.label("c_number"),
            child.c.carrier_name.label("c_name"),
            child.c.role.label("c_role"),
            child.c.state.label("c_state"),
            child.c.final.label("c_final"),
        )
        .outerjoin(child, child.c.parent_id == _S.c.id)
        .where(_S.c.tracking_number.in_(numbers), _S.c.parent_id.is_(None))
        .order_by(_S.c.id, child.c.id)
    )
    for row in connection.execute(query):
        chain = found.setdefault((row.tenant, row.carrier, row.tracking_number), [])
        if not chain:
            chain.append(
                {
                    "carrier": row.carrier,
                    "tracking_number": row.tracking_number,
                    "role": row.role,
                    "carrier_name": row.carrier_name,
                    "state": row.state,
                    "final": bool(row.final),
                }
            )
        if row.c_number is not None:
            chain.append(
                {
                    "carrier": row.c_carrier or None,
                    "tracking_number": row.c_number,
                    "role": row.c_role,
                    "carrier_name": row.c_name,
                    "state": row.c_state,
                    "final": bool(row.c_final),
                }
            )
    return found
