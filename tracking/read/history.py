"""The finding history of orders, as the API and the console show it.

Reads the verdict history (`tracking.store.history.verdict_history`) and derives each order's
finding spans (`tracking.judge.history.finding_spans`): when each finding was first seen and
when it was resolved.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.engine import Connection

from tracking.judge.history import FindingSpan, finding_spans
from tracking.store.history import verdict_history

__all__ = ["FindingSpan", "finding_histories", "finding_history"]


def finding_histories(
    connection: Connection, order_pks: Sequence[int]
) -> dict[int, list[FindingSpan]]:
    """The finding spans of each of `order_pks` (orders never judged map to an empty list).

    One query per 1,000 orders, reading their verdict history oldest first.
    """
    rows = verdict_history(connection, order_pks)
    return {pk: finding_spans(rows.get(pk, ())) for pk in order_pks}


def finding_history(connection: Connection, order_pk: int) -> list[FindingSpan]:
    """The finding spans of one order, oldest first: each code with when it was first seen and
    when it was resolved (None while the current verdict still shows it).
    """
    return finding_histories(connection, [order_pk])[order_pk]
