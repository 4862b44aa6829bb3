"""Judging orders again: in memory for `report --policy`, or stored for `--policy` exports.

`rejudge` judges a window again under a policy and stores the verdicts
(`tracking.store.repository.recompute_verdicts`). `judged_now` judges without writing, as
`tracking.read.portfolio.PortfolioOrder`s for the portfolio summary, and must judge a split
order as storing does: every parcel, all needed (`SplitJudge`,
`tracking.store.parcels.judge_parcels`). The rules are pure (`tracking.judge`); the facts come
from the store here.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterator, Sequence
from datetime import datetime

from sqlalchemy.engine import Connection, Engine

from tracking.judge.policies import Policy
from tracking.judge.validator import Verdict, evaluate
from tracking.read.portfolio import MILESTONE_STAGES, VERDICTS, PortfolioOrder, Reason
from tracking.store.orders import OrderBundleData, bundles_for, iter_order_ids, load_orders_data
from tracking.store.parcels import judge_parcels, parcel_orders
from tracking.store.portfolio import shared_tracking
from tracking.store.verdicts import facts, recompute_verdicts

__all__ = ["SplitJudge", "judged_now", "rejudge"]


class SplitJudge:
    """The further parcels of a chunk's split orders, read once; `judge` folds them in."""

    def __init__(self, connection: Connection, chunk: Sequence[OrderBundleData]) -> None:
        split = parcel_orders(connection, [d.order for d in chunk])
        self._parcels: dict[int, list[OrderBundleData]] = defaultdict(list)
        for bundle in bundles_for(connection, [p for ps in split.values() for p in ps]):
            self._parcels[bundle.order.id].append(bundle)
        self._shared = {  # per parcel: the other orders citing its number
            (pk, p.order.tracking_number): shared_tracking(
                connection, [(pk, p.order.tracking_number)]
            ).get(pk, ())
            for pk, ps in self._parcels.items()
            for p in ps
        }

    def numbers(self, pk: int) -> list[str]:
        """The further parcels' numbers of order `pk`."""
        return [p.order.tracking_number for p in self._parcels.get(pk, ())]

    def judge(
        self, data: OrderBundleData, verdict: Verdict, *, as_of: datetime, policy: Policy
    ) -> Verdict:
        """`verdict` (of the order's first parcel) with every further parcel judged in."""
        pk = data.order.id
        if pk not in self._parcels:
            return verdict
        judged = []
        for parcel in self._parcels[pk]:
            number = parcel.order.tracking_number
            cited = self._shared.get((pk, number), ())
            order, legs = facts(parcel, shared_with=[r.ref for r in cited])
            judged.append(
                (
                    number,
                    evaluate(
                        order=order,
                        shipments=legs,
                        events=parcel.events,
                        as_of=as_of,
                        policy=policy,
                    ),
                )
            )
        return judge_parcels(data.order.tracking_number, verdict, judged)


def judged_now(
    engine: Engine,
    *,
    as_of: datetime,
    policy: Policy,
    tenant: str | None,
    window: tuple[datetime, datetime],
) -> Iterator[PortfolioOrder]:
    """The orders of `tenant` in `window` judged again under `policy` at `as_of`, in memory
    (cross-order checks and split orders included); nothing is written."""
    for ids in iter_order_ids(engine, tenant=tenant, window=window):
        with engine.connect() as connection:
            chunk = load_orders_data(connection, ids, with_exchanges=False)
            numbers = [(d.order.id, d.order.tracking_number) for d in chunk]
            shared = shared_tracking(connection, numbers)
            split = SplitJudge(connection, chunk)  # split orders: every parcel judged, all needed
        for data in chunk:
            order, legs = facts(data, shared_with=[r.ref for r in shared.get(data.order.id, ())])
            verdict = evaluate(
                order=order, shipments=legs, events=data.events, as_of=as_of, policy=policy
            )
            verdict = split.judge(data, verdict, as_of=as_of, policy=policy)
            o = data.order
            statuses = {m.stage: m.status for m in verdict.milestones}
            yield PortfolioOrder(
                tenant=o.tenant,
                order_id=o.order_id,
                order_date=o.order_date,
                tracking_number=", ".join([o.tracking_number, *split.numbers(o.id)]),
                carrier=o.carrier or "",
                destination_country=o.destination_country,
                status=verdict.status,
                policy=verdict.policy,
                milestones=tuple(statuses.get(m, "missing") for m in MILESTONE_STAGES),
                findings=tuple(
                    Reason(f.code, f.severity, f.message, f.message_zh) for f in verdict.findings
                ),
            )


def rejudge(
    engine: Engine,
    *,
    policy: Policy,
    as_of: datetime,
    now: datetime | None = None,
    tenant: str | None = None,
    window: tuple[datetime, datetime] | None = None,
) -> dict[str, int]:
    """Judge the orders of `tenant` in `window` again under `policy` and store the verdicts.

    For `status --policy` and `export --policy`: afterwards the stored verdicts (and so the
    bundle's manifest and summary) name the policy in force. History grows only where a
    verdict changed. Returns the pass / fail / pending counts.
    """
    counts: Counter[str] = Counter()
    moment = now or datetime.now(as_of.tzinfo)
    for ids in iter_order_ids(engine, tenant=tenant, window=window):
        verdicts = recompute_verdicts(engine, order_ids=ids, as_of=as_of, policy=policy, now=moment)
        counts.update(v.status for v in verdicts.values())
    return {v: counts[v] for v in VERDICTS}
