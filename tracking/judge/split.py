"""Judging a split order's further parcels in memory (the portfolio report under a policy).

`tracking.store.verdicts.recompute_verdicts` judges and stores; `report --policy` judges again
without writing, and must judge a split order as storing does: every parcel, all needed
(`tracking.store.parcels.judge_parcels`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.engine import Connection

from tracking.judge.crosscheck import shared_tracking
from tracking.judge.policies import Policy
from tracking.judge.validator import Verdict, evaluate
from tracking.store.orders import OrderBundleData, bundles_for
from tracking.store.parcels import judge_parcels, parcel_orders
from tracking.store.verdicts import facts

__all__ = ["SplitJudge"]


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
