"""Webhook events: each becomes one stored delivery per subscribed webhook.

`verdict.changed` events are found by reading `verdict_history` past a stored cursor
(`api_state`), so changes made by any pull or refresh (API, command line, schedule) are
notified, each once: the cursor only moves by a conditional update.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from tracking.store.engine import transaction
from tracking.store.tables import API_STATE, ORDERS, VERDICT_HISTORY, WEBHOOK_DELIVERIES, WEBHOOKS
from tracking.store.webhooks import new_id
from tracking.store.writes import insert_ignore

__all__ = ["emit_event", "emit_verdict_changes", "init_verdict_cursor"]

_CURSOR = "verdict_history_cursor"
_ORDERS_PER_EVENT = 100
_SCAN_BATCH = 2000


def emit_event(
    connection: Connection,
    *,
    tenant: str,
    event_type: str,
    data: Mapping[str, Any],
    now: datetime,
) -> int:
    """Queue one event for every webhook of `tenant` subscribed to it; how many deliveries."""
    hooks = [
        row.id
        for row in connection.execute(
            sa.select(WEBHOOKS.c.id, WEBHOOKS.c.events).where(
                WEBHOOKS.c.tenant == tenant, WEBHOOKS.c.deleted_at.is_(None)
            )
        )
        if event_type in json.loads(row.events)
    ]
    if not hooks:
        return 0
    event_id = new_id("evt_")
    payload = json.dumps(
        {
            "id": event_id,
            "type": event_type,
            "created_at": now.astimezone(UTC).isoformat().replace("+00:00", "Z"),
            "tenant": tenant,
            "data": dict(data),
        },
        ensure_ascii=False,
        separators=(",", ":"),
    )
    connection.execute(
        sa.insert(WEBHOOK_DELIVERIES),
        [
            {
                "id": new_id("dlv_"),
                "webhook_id": hook,
                "tenant": tenant,
                "event_id": event_id,
                "event_type": event_type,
                "payload": payload,
                "status": "pending",
                "attempts": 0,
                "next_attempt_at": now,
                "created_at": now,
            }
            for hook in hooks
        ],
    )
    return len(hooks)


def init_verdict_cursor(engine: Engine) -> None:
    """Start notifying verdict changes from now on, unless a cursor is already stored."""
    with transaction(engine) as connection:
        last = connection.execute(sa.select(sa.func.max(VERDICT_HISTORY.c.id))).scalar_one()
        insert_ignore(
            connection, API_STATE, [{"name": _CURSOR, "value": str(last or 0)}], conflict=("name",)
        )


class _Raced(Exception):
    """Another process moved the cursor first."""


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _scan_once(engine: Engine, now: datetime) -> tuple[int, int]:
    """(history rows read, deliveries queued) for one batch past the cursor."""
    with transaction(engine) as connection:
        stored = connection.execute(
            sa.select(API_STATE.c.value).where(API_STATE.c.name == _CURSOR)
        ).first()
        if stored is None:
            raise _Raced  # not initialised: `init_verdict_cursor` runs at startup
        last = int(stored.value)
        rows = list(
            connection.execute(
                sa.select(
                    VERDICT_HISTORY.c.id,
                    VERDICT_HISTORY.c.order_pk,
                    VERDICT_HISTORY.c.status,
                    VERDICT_HISTORY.c.policy,
                    VERDICT_HISTORY.c.digest,
                    VERDICT_HISTORY.c.computed_at,
                    ORDERS.c.tenant,
                    ORDERS.c.order_id,
                )
                .join(ORDERS, ORDERS.c.id == VERDICT_HISTORY.c.order_pk)
                .where(VERDICT_HISTORY.c.id > last)
                .order_by(VERDICT_HISTORY.c.id)
                .limit(_SCAN_BATCH)
            )
        )
        if not rows:
            return 0, 0
        subscribed = {
            row.tenant
            for row in connection.execute(
                sa.select(WEBHOOKS.c.tenant, WEBHOOKS.c.events).where(
                    WEBHOOKS.c.deleted_at.is_(None),
                    WEBHOOKS.c.tenant.in_(sorted({r.tenant for r in rows})),
                )
            )
            if "verdict.changed" in json.loads(row.events)
        }
        queued = 0
        wanted = [r for r in rows if r.tenant in subscribed]
        if wanted:
            previous: dict[int, str | None] = {}
            history: dict[int, list[tuple[int, str]]] = defaultdict(list)
            for h in connection.execute(
                sa.select(
                    VERDICT_HISTORY.c.id, VERDICT_HISTORY.c.order_pk, VERDICT_HISTORY.c.status
                )
                .where(VERDICT_HISTORY.c.order_pk.in_(sorted({r.order_pk for r in wanted})))
                .order_by(VERDICT_HISTORY.c.id)
            ):
                history[h.order_pk].append((h.id, h.status))
            for r in wanted:
                earlier = [status for hid, status in history[r.order_pk] if hid < r.id]
                previous[r.id] = earlier[-1] if earlier else None
            by_tenant: dict[str, list[dict[str, Any]]] = defaultdict(list)
            for r in wanted:
                by_tenant[r.tenant].append(
                    {
                        "order_id": r.order_id,
                        "previous_status": previous[r.id],
                        "status": r.status,
                        "policy": r.policy,
                        "digest": r.digest,
                        "computed_at": _iso(r.computed_at),
                    }
                )
            for tenant, changes in by_tenant.items():
                for start in range(0, len(changes), _ORDERS_PER_EVENT):
                    queued += emit_event(
                        connection,
                        tenant=tenant,
                        event_type="verdict.changed",
                        data={"orders": changes[start : start + _ORDERS_PER_EVENT]},
                        now=now,
                    )
        moved = connection.execute(
            sa.update(API_STATE)
            .where(API_STATE.c.name == _CURSOR, API_STATE.c.value == stored.value)
            .values(value=str(rows[-1].id))
        )
        if moved.rowcount != 1:
            raise _Raced
        return len(rows), queued


def emit_verdict_changes(engine: Engine, *, now: datetime | None = None) -> int:
    """Queue `verdict.changed` events for every verdict change past the cursor.

    Returns how many deliveries were queued. Safe to run from several places at once:
    the cursor only moves by a conditional update, so a change is notified once.
    """
    moment = now or datetime.now(UTC)
    queued = 0
    while True:
        try:
            read, added = _scan_once(engine, moment)
        except _Raced:
            return queued
        queued += added
        if read < _SCAN_BATCH:
            return queued
