"""Verdicts: judging orders and storing each verdict, history growing only on change.

`recompute_verdicts` is the one use case that judges stored orders (pulls, refreshes, pushes,
re-judging): it loads the orders whole, keeps cross-order findings true on both sides, judges
split orders parcel by parcel, and writes `verdicts` and `verdict_history`.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from tracking.core.fields import from_fields
from tracking.judge.policies import stored_policy
from tracking.judge.validator import OrderFacts, Policy, ShipmentFacts, Verdict, evaluate
from tracking.read.views import MilestoneView
from tracking.store.engine import transaction
from tracking.store.history import former_partners
from tracking.store.orders import OrderBundleData, bundles_for, load_orders_data
from tracking.store.parcels import judge_parcels, parcel_orders
from tracking.store.portfolio import shared_tracking
from tracking.store.statistics import refresh_statistics
from tracking.store.tables import ORDERS, VERDICT_HISTORY, VERDICTS
from tracking.store.writes import dumps, update_rows, upsert

__all__ = ["facts", "finding_codes", "milestones_json", "recompute_verdicts", "verdict_payload"]


def finding_codes(findings_json: str) -> str:
    """`orders.finding_codes` of a verdict's stored findings JSON: `|a.b|c.d|`, "" for none."""
    codes = sorted({str(f["code"]) for f in json.loads(findings_json or "[]")})
    return "|" + "|".join(codes) + "|" if codes else ""


def facts(
    data: OrderBundleData, *, shared_with: Sequence[str] = (), merged_with: Sequence[str] = ()
) -> tuple[OrderFacts, list[ShipmentFacts]]:
    """The validator's inputs for one order.

    `shared_with` names the other orders (`tenant/order id`) citing the same tracking number
    (see `tracking.judge.crosscheck.shared_tracking`).
    """
    o = data.order
    order = from_fields(
        OrderFacts,
        o,
        destination_postal_code=o.destination_postal_code or "",
        destination_city=o.destination_city or "",
        shared_with=tuple(shared_with),
        merged_with=tuple(merged_with),
    )
    legs = [from_fields(ShipmentFacts, s, final=bool(s.final)) for s in data.shipments]
    return order, legs


def milestones_json(milestones: Sequence[MilestoneView]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for m in milestones:
        event = m.event
        out[m.stage] = {
            "status": m.status,
            "occurred_at": event.occurred_at.isoformat() if event else None,
            "carrier": event.carrier if event else None,
            "tracking_number": event.tracking_number if event else None,
            "code": event.code if event else None,
            "exchange": event.exchange_sha256 if event else None,
            "note": m.note,
        }
    return out


def verdict_payload(verdict: Verdict) -> tuple[str, str, str]:
    """(milestones JSON, findings JSON, digest) of a verdict."""
    stored = milestones_json(verdict.milestones)
    if verdict.parcels:  # a split order: each parcel's own milestones, for its evidence
        stored["parcels"] = [
            {"tracking_number": number, "status": status, "milestones": milestones_json(ms)}
            for number, status, ms in verdict.parcels
        ]
    milestones = dumps(stored)
    findings = dumps(
        [
            {
                "code": f.code,
                "severity": f.severity,
                "message": f.message,
                "message_zh": f.message_zh,
                "evidence": list(f.evidence),
            }
            for f in verdict.findings
        ]
    )
    digest = hashlib.sha256(
        f"{verdict.status}|{verdict.policy}|{milestones}|{findings}".encode()
    ).hexdigest()
    return milestones, findings, digest


def recompute_verdicts(
    engine: Engine,
    *,
    order_ids: Sequence[int],
    as_of: datetime,
    policy: Policy,
    now: datetime,
) -> dict[int, Verdict]:
    """Evaluate and store the verdicts of `order_ids`; history grows only on change.

    Cross-order findings are kept true on both sides: orders outside `order_ids` that share
    (or used to share) a tracking number with one of them are judged again too, under the
    policy of their stored verdict, and stored when their verdict changed. Only the verdicts
    of `order_ids` are returned.
    """
    verdicts: dict[int, Verdict] = {}
    with transaction(engine) as connection:
        chunk = load_orders_data(connection, order_ids, with_exchanges=False)
        shared = shared_tracking(connection, [(d.order.id, d.order.tracking_number) for d in chunk])
        partners = {ref.pk for refs in shared.values() for ref in refs}
        partners |= former_partners(connection, order_ids)
        partners -= set(order_ids)
        stored: dict[int, tuple[str, str]] = {}
        wanted = [*order_ids, *sorted(partners)]
        for start in range(0, len(wanted), 1000):
            stored.update(
                (pk, (digest, name))
                for pk, digest, name in connection.execute(
                    sa.select(VERDICTS.c.order_pk, VERDICTS.c.digest, VERDICTS.c.policy).where(
                        VERDICTS.c.order_pk.in_(wanted[start : start + 1000])
                    )
                )
            )
        # A partner is judged again only when it has a verdict (else its own pull judges it),
        # under its own verdict's policy.
        partner_policy: dict[int, Policy] = {}
        for pk in sorted(partners):
            if pk in stored:
                found = stored_policy(stored[pk][1], current=policy)
                if found is not None:
                    partner_policy[pk] = found
        others = (
            load_orders_data(connection, sorted(partner_policy), with_exchanges=False)
            if partner_policy
            else []
        )
        if others:
            shared.update(
                shared_tracking(connection, [(d.order.id, d.order.tracking_number) for d in others])
            )
        rows: list[dict[str, Any]] = []
        parcels: dict[int, list[OrderBundleData]] = defaultdict(list)
        split = parcel_orders(connection, [d.order for d in [*chunk, *others]])
        flat = [p for ps in split.values() for p in ps]
        for bundle in bundles_for(connection, flat, with_exchanges=False):
            parcels[bundle.order.id].append(bundle)
        for data in [*chunk, *others]:
            pk = data.order.id
            refs = shared.get(pk, ())
            group = getattr(data.order, "parcel_group", "") or ""
            merged = [  # the same store's orders the export puts in this very parcel
                r for r in refs if group and r.tenant == data.order.tenant and r.group == group
            ]
            order, legs = facts(
                data,
                shared_with=[r.ref for r in refs if r not in merged],
                merged_with=[r.ref for r in merged],
            )
            verdict = evaluate(
                order=order,
                shipments=legs,
                events=data.events,
                as_of=as_of,
                policy=partner_policy.get(pk, policy),
            )
            if pk in parcels:  # a split order: every parcel judged, all needed
                judged = []
                for parcel in parcels[pk]:
                    number = parcel.order.tracking_number
                    cited = shared_tracking(connection, [(pk, number)]).get(pk, ())
                    parcel_order, parcel_legs = facts(parcel, shared_with=[r.ref for r in cited])
                    judged.append(
                        (
                            parcel_order.tracking_number,
                            evaluate(
                                order=parcel_order,
                                shipments=parcel_legs,
                                events=parcel.events,
                                as_of=as_of,
                                policy=partner_policy.get(pk, policy),
                            ),
                        )
                    )
                verdict = judge_parcels(order.tracking_number, verdict, judged)
            if pk not in partner_policy:
                verdicts[pk] = verdict
            milestones, findings, digest = verdict_payload(verdict)
            if pk in stored and stored[pk][0] == digest:
                continue
            rows.append(
                {
                    "order_pk": pk,
                    "status": verdict.status,
                    "policy": verdict.policy,
                    "milestones": milestones,
                    "findings": findings,
                    "digest": digest,
                    "computed_at": now,
                }
            )
        if rows:
            upsert(
                connection,
                VERDICTS,
                rows,
                conflict=("order_pk",),
                update=("status", "policy", "milestones", "findings", "digest", "computed_at"),
            )
            connection.execute(sa.insert(VERDICT_HISTORY), rows)
            # the order's copy of its verdict's status and finding codes, in the same
            # transaction: the console counts and filters by them
            update_rows(
                connection,
                ORDERS,
                [
                    {
                        "id": r["order_pk"],
                        "verdict_status": r["status"],
                        "finding_codes": finding_codes(r["findings"]),
                    }
                    for r in rows
                ],
                key="id",
                columns=("verdict_status", "finding_codes"),
            )
            refresh_statistics(connection, table="verdicts", changed=len(rows))
    return verdicts
