"""Orders shipped in several parcels (split orders): storing the further parcels, judging all.

An export gives a split order several distinct tracking numbers on the rows of one store and
order id. The order keeps its first number as its own (`orders.tracking_number`); every further
one is an `order_parcels` row with its own shipment, fetched and judged like the first. The
order's verdict needs every parcel's milestones: it passes only when every parcel passes, fails
when one fails, and an `order.split` finding lists each parcel with its own verdict.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from types import SimpleNamespace
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from tracking.judge.findings import finding
from tracking.judge.validator import Verdict
from tracking.read.views import FindingView, MilestoneView, VerdictStatus
from tracking.store.shipments import ensure_shipments
from tracking.store.tables import ORDER_PARCELS, ORDERS
from tracking.store.writes import upsert

__all__ = [
    "further_numbers",
    "judge_parcels",
    "parcel_orders",
    "status_parcels",
    "store_parcels",
]

_UPDATE = ("carrier", "carrier_declared", "carrier_source", "shipment_id", "source", "updated_at")
_PARCEL_OWN = ("tracking_number", "carrier", "carrier_declared", "carrier_source", "shipment_id")
"""What a further parcel has of its own: its copy of the order's row takes these from it."""
_STRENGTH = {"missing": 0, "inferred": 1, "explicit": 2}


def store_parcels(connection: Connection, parcels: Sequence[Mapping[str, Any]]) -> int:
    """Store further parcels (mappings as `pipeline.order_row` makes them) of orders already
    stored; returns how many were stored (a parcel of an order not stored is skipped)."""
    if not parcels:
        return 0
    shipment_ids = ensure_shipments(  # each (tenant, carrier, number): a tenant's own
        connection,
        (p["_shipment_key"] for p in parcels if p["_shipment_key"] is not None),
        created_at=parcels[0]["updated_at"],
    )
    wanted = sorted({(p["tenant"], p["order_id"]) for p in parcels})
    order_pks: dict[tuple[str, str], int] = {}
    for start in range(0, len(wanted), 400):
        chunk_ids = sorted({order_id for _, order_id in wanted[start : start + 400]})
        for pk, tenant, order_id in connection.execute(
            sa.select(ORDERS.c.id, ORDERS.c.tenant, ORDERS.c.order_id).where(
                ORDERS.c.order_id.in_(chunk_ids)
            )
        ):
            order_pks[(tenant, order_id)] = pk
    rows = []
    for p in parcels:
        pk = order_pks.get((p["tenant"], p["order_id"]))
        if pk is None:
            continue
        key = p["_shipment_key"]
        rows.append(
            {
                "order_pk": pk,
                "tracking_number": p["tracking_number"],
                "carrier": p["carrier"],
                "carrier_declared": p["carrier_declared"],
                "carrier_source": p["carrier_source"],
                "shipment_id": shipment_ids.get(key) if key is not None else None,
                "source": p["source"],
                "created_at": p["created_at"],
                "updated_at": p["updated_at"],
            }
        )
    upsert(
        connection, ORDER_PARCELS, rows, conflict=("order_pk", "tracking_number"), update=_UPDATE
    )
    return len(rows)


def parcel_orders(connection: Connection, orders: Sequence[Any]) -> dict[int, list[Any]]:
    """order pk -> its further parcels, each as a copy of the order's row carrying the
    parcel's tracking number, carrier and shipment (what judging one parcel needs)."""
    by_pk = {o.id: o for o in orders}
    found: dict[int, list[Any]] = defaultdict(list)
    pks = sorted(by_pk)
    for start in range(0, len(pks), 500):
        for parcel in connection.execute(
            sa.select(ORDER_PARCELS)
            .where(ORDER_PARCELS.c.order_pk.in_(pks[start : start + 500]))
            .order_by(ORDER_PARCELS.c.id)
        ):
            base = dict(by_pk[parcel.order_pk]._mapping)
            base.update((name, parcel._mapping[name]) for name in _PARCEL_OWN)
            found[parcel.order_pk].append(SimpleNamespace(**base, _mapping=base))
    return dict(found)


def further_numbers(connection: Connection, pks: Sequence[int]) -> dict[int, list[tuple[str, str]]]:
    """order pk -> (carrier, tracking number) of each further parcel, in stored order."""
    found: dict[int, list[tuple[str, str]]] = defaultdict(list)
    for start in range(0, len(pks), 500):
        for pk, carrier, number in connection.execute(
            sa.select(
                ORDER_PARCELS.c.order_pk, ORDER_PARCELS.c.carrier, ORDER_PARCELS.c.tracking_number
            )
            .where(ORDER_PARCELS.c.order_pk.in_(list(pks[start : start + 500])))
            .order_by(ORDER_PARCELS.c.id)
        ):
            found[pk].append((carrier or "", number))
    return dict(found)


def status_parcels(
    first: tuple[str, str],
    further: Sequence[tuple[str, str]],
    milestones: Mapping[str, Any],
    legs: Mapping[tuple[str, str], list[dict[str, Any]]],
) -> list[dict[str, Any]]:
    """Every parcel of a split order as `status` shows it: number, carrier, its own verdict
    and milestones (as its last judging stored them; None before), its legs."""
    own = {p.get("tracking_number"): p for p in milestones.get("parcels") or ()}
    return [
        {
            "tracking_number": number,
            "carrier": carrier or None,
            "verdict": (own.get(number) or {}).get("status"),
            "milestones": (own.get(number) or {}).get("milestones"),
            "legs": legs.get((carrier, number), []),
        }
        for carrier, number in (first, *further)
    ]


def judge_parcels(
    first_number: str,
    first: Verdict,
    others: Sequence[tuple[str, Verdict]],
) -> Verdict:
    """The verdict of an order from the verdicts of its parcels (the first is the order's own).

    Passes only when every parcel passes; fails when one fails; else pending. Each milestone is
    the weakest of the parcels' (a stage is proven only when every parcel proves it); every
    parcel's findings are kept, the further parcels' naming their number.
    """
    judged = [(first_number, first), *others]
    statuses = [v.status for _, v in judged]
    status: VerdictStatus = (
        "fail" if "fail" in statuses else "pending" if "pending" in statuses else "pass"
    )
    milestones: list[MilestoneView] = []
    for index, milestone in enumerate(first.milestones):
        weakest = milestone
        for number, verdict in others:
            if index < len(verdict.milestones):
                other = verdict.milestones[index]
                if _STRENGTH.get(other.status, 0) < _STRENGTH.get(weakest.status, 0):
                    note = f"parcel {number}" + (f": {other.note}" if other.note else "")
                    weakest = MilestoneView(other.stage, other.status, other.event, note)
        milestones.append(weakest)
    findings: list[FindingView] = list(first.findings)
    for number, verdict in others:
        findings.extend(_tagged(f, number) for f in verdict.findings)
    listed = ", ".join(f"{number}: {verdict.status}" for number, verdict in judged)
    findings.append(
        finding(
            "order.split",
            f"The order was shipped in {len(judged)} parcels ({listed}); its verdict needs"
            " every parcel's milestones.",
            f"该订单分 {len(judged)} 个包裹发出（{listed}）；订单结论需要每个包裹的物流节点。",
        )
    )
    return Verdict(
        status,
        first.policy,
        tuple(milestones),
        tuple(findings),
        first.required,
        tuple((number, v.status, v.milestones) for number, v in judged),
    )


def _tagged(view: FindingView, number: str) -> FindingView:
    return FindingView(
        code=view.code,
        severity=view.severity,
        message=f"Parcel {number}: {view.message}",
        message_zh=f"包裹 {number}：{view.message_zh}",
        evidence=view.evidence,
    )
