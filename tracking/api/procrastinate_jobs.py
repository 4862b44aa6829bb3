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

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from tracking import __version__
from tracking.api.context import ApiContext
from tracking.api.dispatch import WebhookDispatcher, _Due, _record
from tracking.api.jobs import J, Job, JobHandler, JobRunner, _job
from tracking.api.outbound import GuardedTransport
from tracking.api.webhooks import D, W, emit_verdict_changes
from tracking.exceptions import StorageError
from tracking.limits import libpq_url
from tracking.storage import transaction
from tracking.workers import NAMESPACE, _job_writer, ensure_job_schema

__all__ = [
    "API_QUEUE",
    "WEBHOOK_QUEUE",
    "ProcrastinateRunner",
    "defer_api_job",
    "queue_due_deliveries",
    "uses_procrastinate",
]

_log = logging.getLogger(__name__)

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
    _job_writer().configure_task(
        task, connection=connection.connection.driver_connection, **options
    ).defer(**args)


def defer_api_job(connection: Connection, job: Job) -> None:
    """Queue the `api_job` task of a job row just inserted on `connection`.

    Priority: minus the tenant's jobs already waiting or running (fair round-robin).
    """
    ahead = connection.execute(
        sa.select(sa.func.count()).where(
            J.c.tenant == job.tenant, J.c.status.in_(("queued", "running")), J.c.id != job.id
        )
    ).scalar_one()
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
    orphans = sa.text(
        "SELECT j.id FROM api_jobs AS j WHERE j.status IN ('queued', 'running') "
        "AND NOT EXISTS (SELECT 1 FROM procrastinate_jobs AS p WHERE p.task_name = :task "
        "AND p.args ->> 'job_id' = j.id AND p.status IN ('todo', 'doing')) "
        "ORDER BY j.created_at"
    )
    count = 0
    with transaction(engine) as connection:
        for (job_id,) in connection.execute(orphans, {"task": TASK_JOB}).all():
            row = connection.execute(sa.select(J).where(J.c.id == job_id)).one()
            defer_api_job(connection, _job(row))
            count += 1
    return count


def start_job(engine: Engine, *, job_id: str, now: datetime | None = None) -> Job | None:
    """Mark a job row running for its task; None when it already ended.

    A row left `running` is taken over: its task is only run again when the worker that ran
    it died (Procrastinate's lock keeps a job's task from running twice at once).
    """
    moment = now or datetime.now(UTC)
    with transaction(engine) as connection:
        done = connection.execute(
            sa.update(J)
            .where(J.c.id == job_id, J.c.status.in_(("queued", "running")))
            .values(
                status="running", started_at=moment, heartbeat_at=moment, attempts=J.c.attempts + 1
            )
        )
        if done.rowcount != 1:
            return None
        return _job(connection.execute(sa.select(J).where(J.c.id == job_id)).one())


_UNQUEUED = sa.text(
    "NOT EXISTS (SELECT 1 FROM procrastinate_jobs AS p "
    "WHERE p.task_name IN (:attempt, :retry) AND p.args ->> 'delivery_id' = "
    "api_webhook_deliveries.id AND p.status IN ('todo', 'doing') "
    "AND (p.scheduled_at IS NULL OR p.scheduled_at <= :now))"
)
"""No job of the delivery is running or due (a retry scheduled later does not count: a
replay makes the delivery due now, and that retry then finds it changed and does nothing)."""


def queue_due_deliveries(engine: Engine, *, now: datetime | None = None, limit: int = 200) -> int:
    """Queue one `webhook_attempt` for each due delivery that has no job yet; how many.

    Rows are taken `FOR UPDATE SKIP LOCKED`, so planners of several processes never queue
    the same delivery twice.
    """
    moment = now or datetime.now(UTC)
    with transaction(engine) as connection:
        rows = connection.execute(
            sa.select(D.c.id, D.c.webhook_id, D.c.next_attempt_at, D.c.replay_requested_at)
            .join(W, W.c.id == D.c.webhook_id)
            .where(
                D.c.status == "pending",
                D.c.next_attempt_at <= moment,
                W.c.deleted_at.is_(None),
                _UNQUEUED.bindparams(attempt=TASK_ATTEMPT, retry=TASK_RETRY, now=moment),
            )
            .order_by(D.c.next_attempt_at, D.c.id)
            .limit(limit)
            .with_for_update(of=D, skip_locked=True)
        ).all()
        for row in rows:
            if row.replay_requested_at is not None:
                connection.execute(
                    sa.update(D).where(D.c.id == row.id).values(replay_requested_at=None)
                )
            _queue_attempt(
                connection,
                delivery_id=row.id,
                webhook_id=row.webhook_id,
                token=row.next_attempt_at,
                manual=row.replay_requested_at is not None,
            )
    return len(rows)


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


def _still_due(engine: Engine, *, delivery_id: str, token: str, manual: bool) -> _Due | None:
    """The delivery, if it is still pending for the attempt `token` and its webhook exists."""
    with engine.connect() as connection:
        row = connection.execute(
            sa.select(D.c.id, D.c.webhook_id, D.c.event_type, D.c.payload, W.c.url, W.c.secret)
            .join(W, W.c.id == D.c.webhook_id)
            .where(
                D.c.id == delivery_id,
                D.c.status == "pending",
                D.c.next_attempt_at == datetime.fromisoformat(token),
                W.c.deleted_at.is_(None),
            )
        ).first()
    if row is None:
        return None
    return _Due(
        id=row.id,
        webhook_id=row.webhook_id,
        url=row.url,
        secret=row.secret,
        event_type=row.event_type,
        payload=row.payload,
        manual=manual,
    )


def _schedule_retry(engine: Engine, *, delivery_id: str) -> None:
    """After a failed attempt: queue a `webhook_retry` at the delivery's next attempt time."""
    with transaction(engine) as connection:
        row = connection.execute(
            sa.select(D.c.next_attempt_at).where(D.c.id == delivery_id, D.c.status == "pending")
        ).first()
        if row is None or row.next_attempt_at is None:
            return  # delivered, failed for good or cancelled
        _defer(
            connection,
            TASK_RETRY,
            args={"delivery_id": delivery_id, "token": row.next_attempt_at.isoformat()},
            queue=WEBHOOK_QUEUE,
            schedule_at=row.next_attempt_at,
        )


def _retry_due(engine: Engine, *, delivery_id: str, token: str) -> bool:
    """A retry came due: queue its locked attempt if the delivery still waits for it."""
    with transaction(engine) as connection:
        row = connection.execute(
            sa.select(D.c.webhook_id)
            .where(
                D.c.id == delivery_id,
                D.c.status == "pending",
                D.c.next_attempt_at == datetime.fromisoformat(token),
            )
            .with_for_update()
        ).first()
        if row is None:
            return False
        _queue_attempt(
            connection,
            delivery_id=delivery_id,
            webhook_id=row.webhook_id,
            token=datetime.fromisoformat(token),
            manual=False,
        )
    return True


# -- the in-process worker of `serve` --------------------------------------------------------


@dataclass(frozen=True, slots=True)
class WorkerTuning:
    """How the in-process Procrastinate worker runs (`ApiOptions` gives the values)."""

    job_concurrency: int = 2
    webhook_concurrency: int = 8
    poll_seconds: float = 2.0
    webhook_poll_seconds: float = 2.0
    heartbeat_seconds: float = 10.0
    stalled_after: float = 30.0
    shutdown_seconds: float = 5.0


class ProcrastinateRunner:
    """Runs the `api` and `webhooks` queues in this process, and plans webhook deliveries.

    **Parameters:**

    * **context** - the app's context (engine, options).
    * **handlers** - a handler per job kind, as for `JobRunner`.
    * **after** - awaited with each finished job (webhook events).
    * **jobs** / **webhooks** - which queues this process serves.
    * **tuning** - concurrency, polling and heartbeat intervals.
    """

    def __init__(
        self,
        context: ApiContext,
        *,
        handlers: Mapping[str, JobHandler],
        after: Callable[[Job], Awaitable[None]] | None,
        jobs: bool,
        webhooks: bool,
        tuning: WorkerTuning,
    ) -> None:
        self._context = context
        self._engine = context.engine
        self._url = database_url(context.engine)
        self._jobs = jobs
        self._webhooks = webhooks
        self._tuning = tuning
        self._runner = JobRunner(
            context.engine,
            handlers=handlers,
            concurrency=tuning.job_concurrency,
            after=after,
            progress_seconds=min(0.5, tuning.poll_seconds),
        )
        opts = context.options
        self._dispatcher = WebhookDispatcher(
            context.engine,
            schedule=opts.webhook_schedule,
            timeout_seconds=opts.webhook_timeout_seconds,
            transport=opts.webhook_transport,
            allow_internal=context.settings.allow_internal_webhooks,
        )
        self._client: httpx.AsyncClient | None = None
        self._event = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._app = self._make_app()

    def _make_app(self) -> Any:
        import procrastinate

        app = procrastinate.App(
            connector=procrastinate.PsycopgConnector(
                conninfo=libpq_url(self._url), min_size=1, max_size=8
            )
        )
        again = procrastinate.RetryStrategy(max_attempts=20, wait=2)
        app.task(name=TASK_JOB, queue=API_QUEUE, retry=again)(self.api_job)
        app.task(name=TASK_ATTEMPT, queue=WEBHOOK_QUEUE, retry=again)(self.webhook_attempt)
        app.task(name=TASK_RETRY, queue=WEBHOOK_QUEUE, retry=again)(self.webhook_retry)
        return app

    async def prepare(self) -> None:
        """Apply Procrastinate's schema if missing (before any job can be queued)."""
        async with self._app.open_async():
            await ensure_job_schema(self._app, database_url=self._url)
        await asyncio.to_thread(adopt_orphan_jobs, self._engine)

    def wake(self) -> None:
        """Plan due deliveries now (callable from any thread)."""
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self._event.set)

    # -- tasks -------------------------------------------------------------------------------

    async def api_job(self, job_id: str) -> str:
        """Run one API job (its row says what); how it ended."""
        job = await asyncio.to_thread(start_job, self._engine, job_id=job_id)
        if job is None:
            return "already ended"
        await self._runner.run_job(job)
        return "done"

    async def webhook_attempt(self, delivery_id: str, token: str, manual: bool = False) -> str:
        """One attempt of one delivery, within the total deadline; then its retry, if any."""
        due = await asyncio.to_thread(
            _still_due, self._engine, delivery_id=delivery_id, token=token, manual=manual
        )
        if due is None or self._client is None:
            return "not due"
        outcome = await self._dispatcher.send(self._client, due)
        await asyncio.to_thread(
            _record,
            self._engine,
            due=due,
            outcome=outcome,
            now=datetime.now(UTC),
            schedule=self._dispatcher.schedule,
        )
        if not outcome.ok:
            await asyncio.to_thread(_schedule_retry, self._engine, delivery_id=delivery_id)
        return "delivered" if outcome.ok else "failed"

    async def webhook_retry(self, delivery_id: str, token: str) -> str:
        """A delivery's retry time came: queue its attempt (behind the webhook's lock)."""
        queued = await asyncio.to_thread(
            _retry_due, self._engine, delivery_id=delivery_id, token=token
        )
        return "queued" if queued else "not due"

    # -- running -----------------------------------------------------------------------------

    async def run(self) -> None:
        """Serve the queues until cancelled; running jobs get `shutdown_seconds` to finish."""
        self._loop = asyncio.get_running_loop()
        t = self._tuning
        transport = self._context.options.webhook_transport or GuardedTransport(
            allow_internal=self._context.settings.allow_internal_webhooks
        )
        common: dict[str, Any] = {
            "install_signal_handlers": False,
            "update_heartbeat_interval": t.heartbeat_seconds,
            "stalled_worker_timeout": t.stalled_after,
            "shutdown_graceful_timeout": t.shutdown_seconds,
            "delete_jobs": "never",
        }
        async with (
            self._app.open_async(),
            httpx.AsyncClient(
                transport=transport,
                timeout=httpx.Timeout(self._dispatcher.timeout),
                follow_redirects=False,
                trust_env=False,
                headers={"User-Agent": f"track-evidence/{__version__} (webhooks)"},
            ) as client,
        ):
            self._client = client
            workers: list[asyncio.Task[Any]] = [
                asyncio.create_task(self._retry_stalled(), name="track-evidence-stalled")
            ]
            if self._jobs:
                workers.append(
                    asyncio.create_task(
                        self._app.run_worker_async(
                            queues=[API_QUEUE],
                            concurrency=t.job_concurrency,
                            name="serve-api",
                            fetch_job_polling_interval=t.poll_seconds,
                            **common,
                        )
                    )
                )
            if self._webhooks:
                workers.append(
                    asyncio.create_task(
                        self._app.run_worker_async(
                            queues=[WEBHOOK_QUEUE],
                            concurrency=t.webhook_concurrency,
                            name="serve-webhooks",
                            fetch_job_polling_interval=t.webhook_poll_seconds,
                            **common,
                        )
                    )
                )
                workers.append(asyncio.create_task(self._plan(), name="track-evidence-planner"))
            try:
                await asyncio.gather(*workers)
            finally:
                for task in workers:
                    task.cancel()
                await asyncio.gather(*workers, return_exceptions=True)
                self._client = None
                self._loop = None

    async def _plan(self) -> None:
        """Turn verdict changes into events and queue due deliveries, until cancelled."""
        while True:
            self._event.clear()
            try:
                await asyncio.to_thread(emit_verdict_changes, self._engine)
                await asyncio.to_thread(queue_due_deliveries, self._engine)
            except StorageError as exc:
                _log.warning("webhook planner: %s", exc)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._event.wait(), self._tuning.webhook_poll_seconds)

    async def _retry_stalled(self) -> None:
        """Retry the `api` and `webhooks` jobs of workers whose heartbeat stopped."""
        manager = self._app.job_manager
        while True:
            await asyncio.sleep(max(0.5, self._tuning.stalled_after / 2))
            for queue in (API_QUEUE, WEBHOOK_QUEUE):
                try:
                    stalled = await manager.get_stalled_jobs(
                        queue=queue, seconds_since_heartbeat=self._tuning.stalled_after
                    )
                    for job in stalled:
                        _log.warning("retrying stalled job %s (%s)", job.id, job.task_name)
                        await manager.retry_job(job)
                except Exception as exc:  # the database is away: try again next round
                    _log.warning("cannot retry stalled jobs: %s", exc)
