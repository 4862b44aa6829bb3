"""The worker process: a Procrastinate App with the worker's Blueprint, run and fed jobs.

The tasks themselves (pull, refresh, export) are the Blueprint of `tracking.workers.tasks`;
this module builds the App that carries them (`make_app`), runs a worker (`run_worker`) and
queues jobs from outside (`defer`).

Any number of `track-evidence worker` processes, on any number of machines, share one
PostgreSQL database: it holds the shipments, Procrastinate's job queue and the carriers' shared
rate limits (`tracking.fetch.limits`). Design §12.

How a refresh runs:

1. `plan_refresh` (deferred by hand, or by the periodic `refresh_tick` that Procrastinate
   defers exactly once per tick however many workers run) *claims* the due shipments of each
   carrier, one slice at a time - `next_poll_at` moved to a lease `claimed_until`, rows taken
   with `FOR UPDATE SKIP LOCKED` - and defers the slice's `refresh_batch` job **in the same
   PostgreSQL transaction** (Procrastinate inserts the job on the connection that made the
   claim). A claim therefore never exists without its job: a planner that dies mid-way has
   committed whole slices, each with its queued job, and nothing of the slice it was on (its
   connection closes, PostgreSQL rolls the claim back; a planner that hangs instead is cut
   off by `idle_in_transaction_session_timeout`). The planner job itself is then retried
   like any job of a dead worker (3.) and claims what is still due.
2. `refresh_batch(carrier, shipment_ids, claimed_until)` polls those of its shipments that are
   still claimed (`next_poll_at <= claimed_until`); storing a result moves `next_poll_at` on by
   the adaptive policy (`tracking.judge.scheduling`), so a shipment is polled once per claim. That
   claim is the per-shipment lock: a second planner, a duplicate tick or a retried job skips
   every shipment already polled. `refresh_shipment(shipment_id)` polls one shipment now, under
   Procrastinate's `lock`/`queueing_lock` `shipment:<id>`.
3. A worker that dies (SIGKILL, lost machine) stops sending heartbeats; the periodic
   `retry_stalled` job of any surviving worker finds its jobs (`get_stalled_jobs`) and retries
   them, the planner as well as batches. A retried batch polls only what was not stored yet.
   Events are unique per shipment (`uq_event_identity`), so a repeated poll never duplicates
   one. A claim whose job is lost for good (deleted, failed) expires with its lease and the
   shipment is due again.

Every carrier request of every worker passes the carrier's shared limiter (`tracking.fetch.limits`),
so adding workers never exceeds a carrier's rate.
"""

from __future__ import annotations

import asyncio
from typing import Any

from tracking.core.config import Settings
from tracking.fetch.limits import SharedLimits
from tracking.store.engine import libpq_url, open_engine
from tracking.store.runs import ensure_job_schema
from tracking.workers.runtime import (
    NAMESPACE,
    QUEUES,
    RUNTIME_KEY,
    Runtime,
    WorkerConfig,
    require_postgres,
)

__all__ = [
    "NAMESPACE",
    "QUEUES",
    "WorkerConfig",
    "defer",
    "make_app",
    "require_postgres",
    "run_worker",
]


def make_app(config: WorkerConfig) -> Any:
    """The Procrastinate app on `config.database_url`, with the worker's Blueprint added
    under the `track_evidence` namespace (`tracking.workers.tasks.worker_blueprint`)."""
    import procrastinate

    from tracking.workers.tasks import worker_blueprint

    require_postgres(config.database_url)
    app = procrastinate.App(
        connector=procrastinate.PsycopgConnector(
            conninfo=libpq_url(config.database_url), min_size=1, max_size=4
        )
    )
    app.add_tasks_from(worker_blueprint(config), namespace=NAMESPACE)
    return app


async def defer(
    database_url: str,
    task: str,
    *,
    lock: str | None = None,
    queueing_lock: str | None = None,
    **kwargs: Any,
) -> int:
    """Defer one job (`plan_refresh`, `refresh_shipment`, `pull`, `export`); its job id.

    The Procrastinate schema is applied first if the database has none yet.
    """
    app = make_app(WorkerConfig(database_url=database_url, refresh_cron=None))
    async with app.open_async():
        await ensure_job_schema(app, conninfo=libpq_url(database_url))
        name = task if ":" in task else f"{NAMESPACE}:{task}"
        options: dict[str, Any] = {}
        if lock is not None:
            options["lock"] = lock
        if queueing_lock is not None:
            options["queueing_lock"] = queueing_lock
        job_id: int = await app.configure_task(name, **options).defer_async(**kwargs)
        return job_id


async def run_worker(config: WorkerConfig, *, settings: Settings) -> None:
    """Run one worker process until it is stopped (SIGINT/SIGTERM: graceful)."""
    from carriers.registry import all_carriers
    from tracking.api.procrastinate_runner import worker_api_queues

    require_postgres(config.database_url)
    engine = await asyncio.to_thread(open_engine, config.database_url)
    limits = (
        SharedLimits(redis_url=config.redis_url, prefix=config.limit_prefix)
        if config.redis_url
        else SharedLimits(database_url=config.database_url, prefix=config.limit_prefix)
    )
    app = make_app(config)
    try:
        async with (
            app.open_async(),
            worker_api_queues(
                app,
                queues=config.queues,
                engine=engine,
                settings=settings,
                network=config.network,
                fetcher_options={"limiter_factory": limits.factory()},
            ),
        ):
            await ensure_job_schema(app, conninfo=libpq_url(config.database_url))
            runtime = Runtime(
                config=config,
                settings=settings,
                engine=engine,
                carriers=all_carriers(),
                limits=limits,
                app=app,
            )
            await app.run_worker_async(
                queues=list(config.queues),
                concurrency=config.concurrency,
                update_heartbeat_interval=config.heartbeat_seconds,
                stalled_worker_timeout=config.stalled_after,
                fetch_job_polling_interval=min(5.0, config.heartbeat_seconds),
                delete_jobs="never",
                additional_context={RUNTIME_KEY: runtime},
            )
    finally:
        await limits.aclose()
        engine.dispose()
