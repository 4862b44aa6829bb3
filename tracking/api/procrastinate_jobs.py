"""API jobs and webhook deliveries on Procrastinate, when the database is PostgreSQL.

The embedded SQLite default keeps the in-process `JobRunner` and `WebhookDispatcher`. On
PostgreSQL the same work runs on Procrastinate, the job queue the distributed `worker`
processes already use (design §12), so any number of `serve` processes share it and a
process that dies mid-job has its job retried by the others:

* **API jobs** (queue `api`). `create_job` inserts the job row and defers its `api_job` task
  in the same transaction (`defer_api_job`), so a job row never exists without its task.
  The row stays the API's source of truth (status, progress, result); the task only runs
  the job's handler (`JobRunner.run_job`). Fairness: the task's Procrastinate *lock* is
  `api:<tenant>:<kind>`, so a tenant runs one job of a kind at a time; its *priority* is
  minus the number of the tenant's jobs still waiting or running when it was queued, so
  workers take every tenant's first job before anyone's second (Procrastinate fetches the
  highest priority first, then the oldest: a tenant that queued a hundred pulls never
  starves one that queued one).
* **Webhook deliveries** (queue `webhooks`). The planner (`queue_due_deliveries`, run by
  each `serve` process) defers one `webhook_attempt` per due delivery that has no job yet,
  with the lock `webhook:<id>` (one attempt in flight per webhook: a slow receiver holds
  one worker slot, its own). An attempt has the dispatcher's total deadline and guarded
  transport (`WebhookDispatcher.send`). A failed attempt defers a `webhook_retry` at the
  retry schedule's time (`schedule_at`), without a lock - a job waiting on a lock would hold
  back the webhook's newer deliveries - which queues the locked attempt when it comes due.
  Every task carries the `next_attempt_at` it was queued for (`token`) and does nothing if
  the delivery changed since (replayed, cancelled, attempted), so no attempt is sent twice.
* **Dead workers.** Jobs of a worker whose heartbeat stopped are retried (`retry_stalled`);
  an `api_job` then takes over the job row that the dead worker left `running`.

Procrastinate semantics relied on (lock: jobs sharing a lock run one at a time, in
priority-then-id order; `schedule_at`): https://procrastinate.readthedocs.io/en/stable/
howto/advanced/locks.html and .../howto/advanced/schedule.html, and the
`procrastinate_fetch_job_v2` function of procrastinate 3.x's `sql/schema.sql`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.engine import Connection, Engine

from tracking.store.engine import transaction
from tracking.store.jobs import Job, job_row, jobs_ahead
from tracking.store.task_queue import (
    deliveries_to_queue,
    delivery_waiting_for,
    next_attempt_of,
    orphan_job_ids,
)
from tracking.workers.runtime import NAMESPACE, defer_on

__all__ = [
    "API_QUEUE",
    "WEBHOOK_QUEUE",
    "adopt_orphan_jobs",
    "database_url",
    "defer_api_job",
    "queue_due_deliveries",
    "retry_due",
    "schedule_retry",
    "uses_procrastinate",
]

API_QUEUE = "api"
WEBHOOK_QUEUE = "webhooks"
TASK_JOB = f"{NAMESPACE}:api_job"
TASK_ATTEMPT = f"{NAMESPACE}:webhook_attempt"
TASK_RETRY = f"{NAMESPACE}:webhook_retry"


def uses_procrastinate(engine: Engine) -> bool:
    """Whether API jobs and webhook deliveries of this database run on Procrastinate."""
    return engine.dialect.name == "postgresql"


def database_url(engine: Engine) -> str:
    """The engine's URL with its password (Procrastinate opens its own connections)."""
    return engine.url.render_as_string(hide_password=False)


# -- queueing (inside the caller's transaction) ----------------------------------------------


def _defer(connection: Connection, task: str, *, args: Mapping[str, Any], **options: Any) -> None:
    """Insert one Procrastinate job on `connection`: it commits (or not) with the caller."""
    defer_on(connection, task, args=args, **options)


def defer_api_job(connection: Connection, job: Job) -> None:
    """Queue the `api_job` task of a job row just inserted on `connection`.

    Priority: minus the tenant's jobs already waiting or running (fair round-robin).
    """
    ahead = jobs_ahead(connection, job)
    _defer(
        connection,
        TASK_JOB,
        args={"job_id": job.id},
        queue=API_QUEUE,
        lock=f"api:{job.tenant}:{job.kind}",
        priority=-int(ahead),
    )


def adopt_orphan_jobs(engine: Engine) -> int:
    """Queue a task for job rows waiting without one (queued before Procrastinate ran them)."""
    count = 0
    with transaction(engine) as connection:
        for job_id in orphan_job_ids(connection, task=TASK_JOB):
            defer_api_job(connection, job_row(connection, job_id))
            count += 1
    return count


def queue_due_deliveries(engine: Engine, *, now: datetime | None = None, limit: int = 200) -> int:
    """Queue one `webhook_attempt` for each due delivery that has no job yet; how many.

    Rows are taken `FOR UPDATE SKIP LOCKED`, so planners of several processes never queue
    the same delivery twice.
    """
    moment = now or datetime.now(UTC)
    with transaction(engine) as connection:
        due = deliveries_to_queue(
            connection, now=moment, limit=limit, attempt_task=TASK_ATTEMPT, retry_task=TASK_RETRY
        )
        for delivery in due:
            _queue_attempt(
                connection,
                delivery_id=delivery.id,
                webhook_id=delivery.webhook_id,
                token=delivery.token,
                manual=delivery.manual,
            )
    return len(due)


def _queue_attempt(
    connection: Connection, *, delivery_id: str, webhook_id: str, token: datetime, manual: bool
) -> None:
    _defer(
        connection,
        TASK_ATTEMPT,
        args={"delivery_id": delivery_id, "token": token.isoformat(), "manual": manual},
        queue=WEBHOOK_QUEUE,
        lock=f"webhook:{webhook_id}",
    )


def schedule_retry(engine: Engine, *, delivery_id: str) -> None:
    """After a failed attempt: queue a `webhook_retry` at the delivery's next attempt time."""
    with transaction(engine) as connection:
        when = next_attempt_of(connection, delivery_id=delivery_id)
        if when is None:
            return  # delivered, failed for good or cancelled
        _defer(
            connection,
            TASK_RETRY,
            args={"delivery_id": delivery_id, "token": when.isoformat()},
            queue=WEBHOOK_QUEUE,
            schedule_at=when,
        )


def retry_due(engine: Engine, *, delivery_id: str, token: str) -> bool:
    """A retry came due: queue its locked attempt if the delivery still waits for it."""
    moment = datetime.fromisoformat(token)
    with transaction(engine) as connection:
        webhook_id = delivery_waiting_for(connection, delivery_id=delivery_id, token=moment)
        if webhook_id is None:
            return False
        _queue_attempt(
            connection, delivery_id=delivery_id, webhook_id=webhook_id, token=moment, manual=False
        )
    return True
