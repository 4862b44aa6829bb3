"""The rows the Procrastinate planners of `tracking.api.procrastinate_jobs` read (PostgreSQL).

Each function runs on the caller's connection, inside the transaction that also defers the
Procrastinate tasks, so a row and its task commit together. `procrastinate_jobs` is
Procrastinate's own table (`args` JSON, `status`, `scheduled_at`): procrastinate 3.x
`sql/schema.sql`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from tracking.store.tables import JOBS, WEBHOOK_DELIVERIES
from tracking.store.webhooks import due_deliveries

__all__ = [
    "DeliveryToQueue",
    "deliveries_to_queue",
    "delivery_waiting_for",
    "next_attempt_of",
    "orphan_job_ids",
]

_ORPHANS = sa.text(
    "SELECT j.id FROM api_jobs AS j WHERE j.status IN ('queued', 'running') "
    "AND NOT EXISTS (SELECT 1 FROM procrastinate_jobs AS p WHERE p.task_name = :task "
    "AND p.args ->> 'job_id' = j.id AND p.status IN ('todo', 'doing')) "
    "ORDER BY j.created_at"
).columns(JOBS.c.id)

_UNQUEUED = sa.text(
    "NOT EXISTS (SELECT 1 FROM procrastinate_jobs AS p "
    "WHERE p.task_name IN (:attempt, :retry) AND p.args ->> 'delivery_id' = "
    "api_webhook_deliveries.id AND p.status IN ('todo', 'doing') "
    "AND (p.scheduled_at IS NULL OR p.scheduled_at <= :now))"
)
"""No job of the delivery is running or due (a retry scheduled later does not count: a
replay makes the delivery due now, and that retry then finds it changed and does nothing)."""


def orphan_job_ids(connection: Connection, *, task: str) -> list[str]:
    """Job rows queued or running without a `task` job waiting or running, oldest first."""
    return [str(job_id) for job_id in connection.execute(_ORPHANS, {"task": task}).scalars()]


@dataclass(frozen=True, slots=True)
class DeliveryToQueue:
    """A due delivery with no attempt queued: its attempt is queued for `token`."""

    id: str
    webhook_id: str
    token: datetime
    """The `next_attempt_at` the attempt is for (it does nothing if the delivery changed)."""
    manual: bool
    """A replay someone asked for (logged as such)."""


def deliveries_to_queue(
    connection: Connection, *, now: datetime, limit: int, attempt_task: str, retry_task: str
) -> list[DeliveryToQueue]:
    """Lock up to `limit` due deliveries with no attempt queued (`FOR UPDATE SKIP LOCKED`, so
    planners of several processes never take one twice); a replay request is consumed."""
    rows = connection.execute(
        due_deliveries(
            now,
            WEBHOOK_DELIVERIES.c.id,
            WEBHOOK_DELIVERIES.c.webhook_id,
            WEBHOOK_DELIVERIES.c.next_attempt_at,
            WEBHOOK_DELIVERIES.c.replay_requested_at,
        )
        .where(_UNQUEUED.bindparams(attempt=attempt_task, retry=retry_task, now=now))
        .limit(limit)
        .with_for_update(of=WEBHOOK_DELIVERIES, skip_locked=True)
    ).all()
    replayed = [row.id for row in rows if row.replay_requested_at is not None]
    if replayed:
        connection.execute(
            sa.update(WEBHOOK_DELIVERIES)
            .where(WEBHOOK_DELIVERIES.c.id.in_(replayed))
            .values(replay_requested_at=None)
        )
    return [
        DeliveryToQueue(
            id=row.id,
            webhook_id=row.webhook_id,
            token=row.next_attempt_at,
            manual=row.replay_requested_at is not None,
        )
        for row in rows
    ]


def next_attempt_of(connection: Connection, *, delivery_id: str) -> datetime | None:
    """When a pending delivery is to be tried next; None once delivered, failed or cancelled."""
    found: datetime | None = connection.execute(
        sa.select(WEBHOOK_DELIVERIES.c.next_attempt_at).where(
            WEBHOOK_DELIVERIES.c.id == delivery_id, WEBHOOK_DELIVERIES.c.status == "pending"
        )
    ).scalar_one_or_none()
    return found


def delivery_waiting_for(
    connection: Connection, *, delivery_id: str, token: datetime
) -> str | None:
    """Lock a delivery still pending for the attempt `token`; its webhook's id, else None."""
    found: str | None = connection.execute(
        sa.select(WEBHOOK_DELIVERIES.c.webhook_id)
        .where(
            WEBHOOK_DELIVERIES.c.id == delivery_id,
            WEBHOOK_DELIVERIES.c.status == "pending",
            WEBHOOK_DELIVERIES.c.next_attempt_at == token,
        )
        .with_for_update()
    ).scalar_one_or_none()
    return found
