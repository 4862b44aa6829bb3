"""The Procrastinate worker of `serve` (and of `worker --queues api,webhooks`) on PostgreSQL.

How jobs and deliveries are queued, and why that is fair and exactly-once, is described in
`tracking.api.procrastinate_jobs`; this module runs them: the `api_job`, `webhook_attempt`
and `webhook_retry` tasks, the planner that queues due deliveries, and the retry of the
jobs of dead workers.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any

import httpx
from sqlalchemy.engine import Engine

from carriers.kit.network import Network
from tracking.api.context import ApiContext, ApiOptions
from tracking.api.dispatch import WebhookDispatcher
from tracking.api.jobs import JobHandler, JobRunner
from tracking.api.procrastinate_jobs import (
    API_QUEUE,
    WEBHOOK_QUEUE,
    adopt_orphan_jobs,
    database_url,
    queue_due_deliveries,
    retry_due,
    schedule_retry,
)
from tracking.api.wakeup import Wakeable
from tracking.api.webhooks import after_job
from tracking.core.config import Settings
from tracking.core.exceptions import StorageError
from tracking.store.engine import libpq_url
from tracking.store.jobs import Job, start_job
from tracking.store.runs import ensure_job_schema
from tracking.store.webhook_events import emit_verdict_changes
from tracking.store.webhooks import still_due
from tracking.workers.runtime import NAMESPACE

__all__ = ["ProcrastinateRunner", "worker_api_queues"]

_log = logging.getLogger(__name__)


# -- the in-process worker of `serve` --------------------------------------------------------


WEBHOOK_CONCURRENCY = 8
"""Webhook attempts a process sends at once."""
SHUTDOWN_SECONDS = 5.0
"""How long running jobs get to finish when the process stops."""


class ProcrastinateRunner(Wakeable):
    """Runs the `api` and `webhooks` queues in this process, and plans webhook deliveries.

    **Parameters:**

    * **context** - the app's context (engine, options).
    * **handlers** - a handler per job kind, as for `JobRunner`.
    * **after** - awaited with each finished job (webhook events).
    * **jobs** / **webhooks** - which queues this process serves.

    Concurrency, polling and heartbeat intervals are the context's `ApiOptions`.
    """

    def __init__(
        self,
        context: ApiContext,
        *,
        handlers: Mapping[str, JobHandler],
        after: Callable[[Job], Awaitable[None]] | None,
        jobs: bool,
        webhooks: bool,
    ) -> None:
        super().__init__()
        self._context = context
        self._engine = context.engine
        self._url = database_url(context.engine)
        self._jobs = jobs
        self._webhooks = webhooks
        self._options = options = context.options
        self._runner = JobRunner(
            context.engine,
            handlers=handlers,
            concurrency=options.job_concurrency,
            after=after,
            progress_seconds=min(0.5, options.job_poll_seconds),
        )
        self._dispatcher = WebhookDispatcher.for_api(context)
        self._client: httpx.AsyncClient | None = None
        self._app = self._make_app()

    def _make_app(self) -> Any:
        import procrastinate

        app = procrastinate.App(
            connector=procrastinate.PsycopgConnector(
                conninfo=libpq_url(self._url), min_size=1, max_size=8
            )
        )
        self.register(app)
        return app

    def register(self, app: Any) -> None:
        """Add the API's tasks (`tracking.workers.tasks.api_blueprint`) to `app`."""
        from tracking.workers.tasks import api_blueprint

        tasks = api_blueprint(self, jobs_queue=API_QUEUE, webhooks_queue=WEBHOOK_QUEUE)
        app.add_tasks_from(tasks, namespace=NAMESPACE)

    @contextlib.asynccontextmanager
    async def sending(self) -> AsyncIterator[None]:
        """The webhook client (guarded transport, no redirects, no proxies) while open."""
        async with self._dispatcher.client() as client:
            self._client = client
            try:
                yield
            finally:
                self._client = None

    async def prepare(self) -> None:
        """Apply Procrastinate's schema if missing (before any job can be queued)."""
        async with self._app.open_async():
            await ensure_job_schema(self._app, conninfo=libpq_url(self._url))
        await asyncio.to_thread(adopt_orphan_jobs, self._engine)

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
            still_due, self._engine, delivery_id=delivery_id, token=token, manual=manual
        )
        if due is None or self._client is None:
            return "not due"
        outcome = await self._dispatcher.attempt(self._client, due)
        if not outcome.ok:
            await asyncio.to_thread(schedule_retry, self._engine, delivery_id=delivery_id)
        return "delivered" if outcome.ok else "failed"

    async def webhook_retry(self, delivery_id: str, token: str) -> str:
        """A delivery's retry time came: queue its attempt (behind the webhook's lock)."""
        queued = await asyncio.to_thread(
            retry_due, self._engine, delivery_id=delivery_id, token=token
        )
        return "queued" if queued else "not due"

    # -- running -----------------------------------------------------------------------------

    async def run(self) -> None:
        """Serve the queues until cancelled; running jobs get `SHUTDOWN_SECONDS` to finish."""
        o = self._options
        with self._running():
            async with self._app.open_async(), self.sending():
                workers: list[asyncio.Task[Any]] = [
                    asyncio.create_task(self._retry_stalled(), name="track-evidence-stalled")
                ]
                if self._jobs:
                    workers.append(self._worker(API_QUEUE, o.job_concurrency, o.job_poll_seconds))
                if self._webhooks:
                    workers.append(
                        self._worker(WEBHOOK_QUEUE, WEBHOOK_CONCURRENCY, o.webhook_poll_seconds)
                    )
                    workers.append(asyncio.create_task(self._plan(), name="track-evidence-planner"))
                try:
                    await asyncio.gather(*workers)
                finally:
                    for task in workers:
                        task.cancel()
                    await asyncio.gather(*workers, return_exceptions=True)

    def _worker(self, queue: str, concurrency: int, poll_seconds: float) -> asyncio.Task[Any]:
        """A task of Procrastinate's worker `serve-<queue>`, serving only `queue`."""
        o = self._options
        return asyncio.create_task(
            self._app.run_worker_async(
                queues=[queue],
                concurrency=concurrency,
                name=f"serve-{queue}",
                fetch_job_polling_interval=poll_seconds,
                install_signal_handlers=False,
                update_heartbeat_interval=o.heartbeat_seconds,
                stalled_worker_timeout=o.stalled_after_seconds,
                shutdown_graceful_timeout=SHUTDOWN_SECONDS,
                delete_jobs="never",
            )
        )

    async def _plan(self) -> None:
        """Turn verdict changes into events and queue due deliveries, until cancelled."""
        while True:
            try:
                await asyncio.to_thread(emit_verdict_changes, self._engine)
                await asyncio.to_thread(queue_due_deliveries, self._engine)
            except StorageError as exc:
                _log.warning("webhook planner: %s", exc)
            await self._rest(self._options.webhook_poll_seconds)

    async def _retry_stalled(self) -> None:
        """Retry the `api` and `webhooks` jobs of workers whose heartbeat stopped."""
        from tracking.workers.tasks import retry_stalled_jobs

        manager = self._app.job_manager
        while True:
            await asyncio.sleep(max(0.5, self._options.stalled_after_seconds / 2))
            for queue in (API_QUEUE, WEBHOOK_QUEUE):
                try:
                    await retry_stalled_jobs(
                        manager, stalled_after=self._options.stalled_after_seconds, queue=queue
                    )
                except Exception as exc:  # the database is away: try again next round
                    _log.warning("cannot retry stalled jobs: %s", exc)


# -- on `track-evidence worker` processes ----------------------------------------------------


@contextlib.asynccontextmanager
async def worker_api_queues(
    app: Any,
    *,
    queues: tuple[str, ...],
    engine: Engine,
    settings: Settings,
    network: Network | None,
    fetcher_options: Mapping[str, Any],
) -> AsyncIterator[None]:
    """Let a `worker` process serve the `api` and `webhooks` queues too (when it is told to).

    The tasks are the ones `serve` runs; jobs write bundles under the worker's data folder
    (`TRACK_EVIDENCE_DATA_DIR`, to share with the `serve` processes that hand the files out).
    Due deliveries are still queued by the `serve` processes.
    """
    if API_QUEUE not in queues and WEBHOOK_QUEUE not in queues:
        yield
        return
    from carriers.registry import all_carriers
    from tracking.api.jobs import bundle_handler, pull_handler

    context = ApiContext(
        engine=engine,
        settings=settings,
        options=ApiOptions(
            data_dir=settings.data_dir.resolve(),
            job_concurrency=settings.job_concurrency,
            fetcher_options=dict(fetcher_options),
        ),
        carriers=all_carriers(),
        network=network,
    )
    runner = ProcrastinateRunner(
        context,
        handlers={"pull": pull_handler(context), "bundle": bundle_handler(context)},
        after=after_job(context),
        jobs=API_QUEUE in queues,
        webhooks=WEBHOOK_QUEUE in queues,
    )
    runner.register(app)
    async with runner.sending():
        yield
