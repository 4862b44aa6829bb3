"""The history of an order's findings, derived from its verdict history.

`verdict_history` gets a row whenever an order's verdict changes, each with the findings of
that verdict and when it was computed. A finding's *span* runs from the first verdict that
shows its code to the first later verdict that does not (`resolved_at`), or is still open.
A code that comes back after being resolved opens a new span. A change of policy that drops
a finding resolves it too (the span keeps the policy it was raised under).
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from tracking.judge.findings import SEVERITY_RANK
from tracking.read.views import Severity
from tracking.store.handles import table_of
from tracking.store.tables import VerdictHistory

__all__ = ["FindingSpan", "finding_histories", "finding_history"]

VH = table_of(VerdictHistory)


@dataclass(frozen=True, slots=True)
class FindingSpan:
    """One stretch of time during which an order's verdicts carried a finding code.

    **Parameters:**

    * **code** - the finding's code.
    * **severity** - its severity in the latest verdict that showed it.
    * **first_seen** - when the first verdict showing it was computed.
    * **resolved_at** - when the first later verdict without it was computed; None if open.
    * **last_seen** - when the latest verdict showing it was computed.
    * **message** / **message_zh** / **evidence** - as the latest verdict showing it said.
    * **policy** - the policy of the verdict that first raised it.
    * **worst_severity** - the most serious severity it had during the span.
    """

    code: str
    severity: Severity
    first_seen: datetime
    resolved_at: datetime | None
    last_seen: datetime
    message: str
    message_zh: str
    evidence: tuple[str, ...]
    policy: str
    worst_severity: Severity

    @property
    def open(self) -> bool:
        """Whether the current verdict still shows it."""
        return self.resolved_at is None


def _by_code(findings_json: str) -> dict[str, dict[str, Any]]:
    """The first finding of each code, with the worst severity among that code's findings."""
    try:
        items = json.loads(findings_json)
    except ValueError:
        return {}
    found: dict[str, dict[str, Any]] = {}
    for item in items if isinstance(items, list) else ():
        if not isinstance(item, dict) or not isinstance(item.get("code"), str):
            continue
        code = item["code"]
        severity = item.get("severity", "info")
        if severity not in SEVERITY_RANK:
            severity = "info"
        if code not in found:
            found[code] = {**item, "severity": severity}
        elif SEVERITY_RANK[severity] < SEVERITY_RANK[found[code]["severity"]]:
            found[code]["severity"] = severity
    return found


def _spans(rows: Sequence[Any]) -> list[FindingSpan]:
    """Spans from one order's history rows (oldest first)."""
    open_spans: dict[str, FindingSpan] = {}
    closed: list[FindingSpan] = []
    for row in rows:
        present = _by_code(row.findings)
        for code in [c for c in open_spans if c not in present]:
            closed.append(replace(open_spans.pop(code), resolved_at=row.computed_at))
        for code, item in present.items():
            severity = item["severity"]
            current = open_spans.get(code)
            evidence = tuple(str(e) for e in item.get("evidence", ()))
            if current is None:
                open_spans[code] = FindingSpan(
                    code=code,
                    severity=severity,
                    first_seen=row.computed_at,
                    resolved_at=None,
                    last_seen=row.computed_at,
                    message=str(item.get("message", "")),
                    message_zh=str(item.get("message_zh", "")),
                    evidence=evidence,
                    policy=row.policy,
                    worst_severity=severity,
                )
            else:
                worst = min((current.worst_severity, severity), key=lambda s: SEVERITY_RANK[s])
                open_spans[code] = replace(
                    current,
                    severity=severity,
                    last_seen=row.computed_at,
                    message=str(item.get("message", "")),
                    message_zh=str(item.get("message_zh", "")),
                    evidence=evidence,
                    worst_severity=worst,
                )
    spans = closed + list(open_spans.values())
    spans.sort(key=lambda s: (s.first_seen, s.code))
    return spans


def finding_histories(
    connection: Connection, order_pks: Sequence[int]
) -> dict[int, list[FindingSpan]]:
    """The finding spans of each of `order_pks` (orders never judged map to an empty list).

    One query per 1,000 orders, reading their verdict history oldest first.
    """
    result: dict[int, list[FindingSpan]] = {pk: [] for pk in order_pks}
    ordered = sorted(set(order_pks))
    for start in range(0, len(ordered), 1000):
        chunk = ordered[start : start + 1000]
        rows_by_order: dict[int, list[Any]] = defaultdict(list)
        for row in connection.execute(
            sa.select(VH.c.order_pk, VH.c.policy, VH.c.findings, VH.c.computed_at)
            .where(VH.c.order_pk.in_(chunk))
            .order_by(VH.c.order_pk, VH.c.computed_at, VH.c.id)
        ):
            rows_by_order[row.order_pk].append(row)
        for pk, rows in rows_by_order.items():
            result[pk] = _spans(rows)
    return result


def finding_history(connection: Connection, order_pk: int) -> list[FindingSpan]:
    """The finding spans of one order, oldest first: each code with when it was first seen and
    when it was resolved (None while the current verdict still shows it).
    """
    return finding_histories(connection, [order_pk])[order_pk]
