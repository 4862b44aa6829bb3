"""Every Procrastinate task of track-evidence, as Blueprints: pull, refresh, export, API jobs.

Each task is a thin shell over a use case the CLI and the API call too
(`tracking.fetch.pipeline.pull` / `poll`, `tracking.evidence.export.export_bundle`): it finds
its worker's `Runtime` in the job context and passes the job's arguments on. No subprocess, no
second implementation. `worker_blueprint(config)` builds the Blueprint; the worker's App adds
it under the `track_evidence` namespace (`tracking.workers.blueprint.make_app`).

`api_blueprint(runner)` holds the API's tasks (`api_job`, `webhook_attempt`, `webhook_retry`)
for `serve` and for workers told to serve the `api`/`webhooks` queues: the same tasks in both,
each delegating to the API's runner (`tracking.api.procrastinate_runner`), which queues them
as `tracking.api.procrastinate_jobs` describes.

How a refresh is planned, claimed and retried: see `tracking.workers.blueprint`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import procrastinate
from sqlalchemy.engine import Connection

from tracking.fetch.pipeline import poll
from tracking.fetch.pipeline import pull as run_pull
from tracking.judge.policies import resolve_policy
from tracking.store.polls import claim_due, shipments_by_id, still_claimed
from tracking.store.shipments import DueShipment
from tracking.workers.runtime import NAMESPACE, Runtime, WorkerConfig, defer_on, runtime_of

__all__ = [
    "PLAN_IDLE_TIMEOUT",
    "ApiTasks",
    "api_blueprint",
    "claim_and_defer",
    "export",
    "plan_refresh",
    "pull",
    "refresh_batch",
    "refresh_shipment",
    "retry_stalled",
    "retry_stalled_jobs",
    "worker_blueprint",
]

log = logging.getLogger("tracking.workers")

PLAN_IDLE_TIMEOUT = "60s"
"""A planner silent this long inside its claim transaction is cut off (the claim undone)."""


# -- claiming due shipments ------------------------------------------------------------------


def _defer_batch(
    connection: Connection, *, carrier: str, shipment_ids: list[int], claimed_until: datetime
) -> int:
    """Insert one `refresh_batch` job in `connection`'s transaction; it commits with it."""
    return defer_on(
        connection,
        f"{NAMESPACE}:refresh_batch",
        args={
            "carrier": carrier,
            "shipment_ids": shipment_ids,
            "claimed_until": claimed_until.isoformat(),
        },
        queue="refresh",
    )


def claim_and_defer(
    rt: Runtime, *, carrier: str, now: datetime, claimed_until: datetime, limit: int
) -> list[DueShipment]:
    """Claim one slice of `carrier`'s due shipments and queue its `refresh_batch` job, atomically.

    Both happen in one PostgreSQL transaction: the job row commits with the claim or neither
    does, so a planner that dies in between strands nothing.
    """

    def queue_batch(connection: Connection, claimed: list[DueShipment]) -> None:
        if claimed:
            _defer_batch(
                connection,
                carrier=carrier,
                shipment_ids=[s.id for s in claimed],
                claimed_until=claimed_until,
            )

    return claim_due(
        rt.engine,
        carrier=carrier,
        now=now,
        claimed_until=claimed_until,
        limit=limit,
        then=queue_batch,
        idle_timeout=PLAN_IDLE_TIMEOUT,
    )


# -- the jobs, each on its worker's runtime --------------------------------------------------


async def _poll(rt: Runtime, *, carrier: str, shipments: Sequence[DueShipment]) -> dict[str, int]:
    """Poll `shipments` of one carrier under the shared limit, store, re-judge their orders."""
    counts = {"due": len(shipments), "fetched": 0, "not_found": 0, "failed": 0, "events_new": 0}
    if not shipments or carrier not in rt.carriers:
        return counts
    report = await poll(
        engine=rt.engine,
        settings=rt.settings,
        carriers=rt.carriers,
        carrier=carrier,
        shipments=shipments,
        policy=resolve_policy(rt.settings.policy, settings=rt.settings),
        network=rt.config.network,
        fetcher_options=_fetcher_options(rt),
    )
    if report is not None:
        counts.update(report.poll_counts())
    return counts


def _fetcher_options(rt: Runtime) -> dict[str, Any]:
    """Every carrier request of every worker passes the carrier's shared limiter."""
    return {"limiter_factory": rt.limits.factory()} if rt.limits is not None else {}


async def plan_refresh(rt: Runtime, *, limit: int | None = None) -> dict[str, int]:
    """Claim every carrier's due shipments (at most `limit` in all) and defer their batches.

    Each slice is claimed and its batch queued in one transaction (`claim_and_defer`).
    """
    now = datetime.now(UTC)
    claimed_until = now + rt.config.lease
    size = rt.config.batch_shipments
    remaining = limit
    planned: dict[str, int] = {}
    codes = sorted(rt.carriers)
    if rt.config.network is not None:
        codes = [c for c in codes if rt.config.network.reaches(c)]
    active = list(codes)
    # Round-robin over the carriers: their jobs interleave in the queue, so every carrier's
    # limit is kept busy from the start (not one carrier after another).
    while active and (remaining is None or remaining > 0):
        for code in list(active):
            take = size if remaining is None else min(size, remaining)
            if take <= 0:
                break
            claimed = await asyncio.to_thread(
                claim_and_defer, rt, carrier=code, now=now, claimed_until=claimed_until, limit=take
            )
            if claimed:
                planned[code] = planned.get(code, 0) + len(claimed)
                if remaining is not None:
                    remaining -= len(claimed)
            if len(claimed) < take:
                active.remove(code)
    log.info("planned refresh: %s", planned)
    return planned


async def refresh_batch(
    rt: Runtime, *, carrier: str, shipment_ids: list[int], claimed_until: str
) -> dict[str, int]:
    """Poll the shipments of this claim that are not polled yet."""
    until = datetime.fromisoformat(claimed_until)
    pending = await asyncio.to_thread(
        still_claimed, rt.engine, shipment_ids=shipment_ids, claimed_until=until
    )
    return await _poll(rt, carrier=carrier, shipments=pending)


async def refresh_shipment(rt: Runtime, *, shipment_id: int) -> dict[str, int]:
    """Poll one shipment now, whatever its `next_poll_at`."""
    found = await asyncio.to_thread(shipments_by_id, rt.engine, shipment_ids=[shipment_id])
    if not found:
        return {"due": 0}
    return await _poll(rt, carrier=found[0].carrier, shipments=found)


async def pull(
    rt: Runtime,
    *,
    orders_path: str | None,
    tenant: str = "default",
    as_of: str | None = None,
    window_days: int | None = None,
) -> dict[str, Any]:
    """`track-evidence pull` as a job: read the orders file (or the tenant's stored orders)."""
    moment = datetime.fromisoformat(as_of) if as_of else datetime.now(UTC)
    report = await run_pull(
        engine=rt.engine,
        settings=rt.settings,
        orders_path=Path(orders_path) if orders_path else None,
        carriers=rt.carriers,
        as_of=moment,
        window_days=window_days or rt.settings.window_days,
        policy=resolve_policy(rt.settings.policy, settings=rt.settings),
        tenant=tenant,
        network=rt.config.network,
        fetcher_options=_fetcher_options(rt),
    )
    return report.as_json()


async def export(
    rt: Runtime,
    *,
    out: str,
    tenant: str = "default",
    reference_id: str | None = None,
    seller: str | None = None,
    as_of: str | None = None,
    window_days: int = 90,
    created_at: str | None = None,
    verdicts: list[str] | None = None,
    include: list[str] | None = None,
    exclude: list[str] | None = None,
    zip: bool = False,
) -> dict[str, Any]:
    """An evidence bundle as a job: the same `export_bundle` as the CLI and the API, in a thread."""
    from tracking import __version__
    from tracking.evidence.export import ExportRequest, export_bundle, moment

    request = ExportRequest(
        out=Path(out),
        tenant=tenant,
        reference_id=reference_id,
        seller=seller,
        as_of=moment(as_of) if as_of else None,
        window_days=window_days,
        created_at=moment(created_at) if created_at else None,
        verdicts=tuple(verdicts or ()),
        include=tuple(include or ()),
        exclude=tuple(exclude or ()),
        as_zip=zip,
        signing_key=rt.settings.signing_key,
        tool_version=__version__,
    )
    result = await asyncio.to_thread(export_bundle, rt.engine, request, carriers=rt.carriers)
    return result.as_json()


async def retry_stalled_jobs(
    manager: procrastinate.manager.JobManager,
    *,
    stalled_after: float,
    queue: str | None = None,
) -> int:
    """Retry the jobs (of `queue`, or all) of workers silent for `stalled_after` seconds
    (crashed, killed); how many. Run by every worker (`retry_stalled`) and by `serve`."""
    stalled = await manager.get_stalled_jobs(queue=queue, seconds_since_heartbeat=stalled_after)
    count = 0
    for job in stalled:
        log.warning("retrying stalled job %s (%s)", job.id, job.task_name)
        await manager.retry_job(job)
        count += 1
    return count


async def retry_stalled(rt: Runtime) -> int:
    """Retry the jobs of workers that stopped sending heartbeats (crashed, killed)."""
    return await retry_stalled_jobs(rt.app.job_manager, stalled_after=rt.config.stalled_after)


# -- the Blueprint ---------------------------------------------------------------------------


def _on_runtime(job: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
    """A task body: `job` on the runtime of the worker that runs it, with the job's arguments."""

    async def task(context: procrastinate.JobContext, **kwargs: Any) -> Any:
        return await job(runtime_of(context), **kwargs)

    task.__name__ = task.__qualname__ = job.__name__
    task.__doc__ = job.__doc__
    return task


def worker_blueprint(config: WorkerConfig) -> procrastinate.Blueprint:
    """The worker's tasks, named as `defer` and `claim_and_defer` queue them.

    A new Blueprint per App (adding one to an App namespaces its tasks in place).
    Periodic: `refresh_tick` on `config.refresh_cron` (deferred once per tick for all
    workers; shares `plan_refresh`'s lock) and `retry_stalled` on `config.stalled_check_cron`.
    """
    bp = procrastinate.Blueprint()

    def task(job: Callable[..., Awaitable[Any]], *, name: str, queue: str, **options: Any) -> Any:
        return bp.task(name=name, queue=queue, pass_context=True, **options)(_on_runtime(job))

    task(plan_refresh, name="plan_refresh", queue="refresh", lock="plan_refresh")
    task(refresh_batch, name="refresh_batch", queue="refresh")
    task(refresh_shipment, name="refresh_shipment", queue="refresh")
    task(pull, name="pull", queue="pull")
    task(export, name="export", queue="export")

    async def refresh_tick(rt: Runtime, *, timestamp: int) -> dict[str, int]:
        """The periodic refresh: Procrastinate defers it once per tick for all workers."""
        return await plan_refresh(rt, limit=config.refresh_limit)

    async def retry_stalled_tick(rt: Runtime, *, timestamp: int) -> int:
        return await retry_stalled(rt)

    if config.refresh_cron:
        tick = task(refresh_tick, name="refresh_tick", queue="refresh", lock="plan_refresh")
        bp.periodic(cron=config.refresh_cron, periodic_id="refresh")(tick)
    stalled = task(retry_stalled_tick, name="retry_stalled", queue="refresh")
    bp.periodic(cron=config.stalled_check_cron, periodic_id="stalled")(stalled)
    return bp


class ApiTasks(Protocol):
    """What runs the API's tasks (`tracking.api.procrastinate_runner.ProcrastinateRunner`)."""

    async def api_job(self, job_id: str) -> str: ...

    async def webhook_attempt(self, delivery_id: str, token: str, manual: bool = False) -> str: ...

    async def webhook_retry(self, delivery_id: str, token: str) -> str: ...


def api_blueprint(
    runner: ApiTasks, *, jobs_queue: str, webhooks_queue: str
) -> procrastinate.Blueprint:
    """The API's tasks on `runner`: `api_job` (queue `jobs_queue`), `webhook_attempt` and
    `webhook_retry` (queue `webhooks_queue`), each retried up to 20 times (a database away)."""
    bp = procrastinate.Blueprint()
    again = procrastinate.RetryStrategy(max_attempts=20, wait=2)
    bp.task(name="api_job", queue=jobs_queue, retry=again)(runner.api_job)
    bp.task(name="webhook_attempt", queue=webhooks_queue, retry=again)(runner.webhook_attempt)
    bp.task(name="webhook_retry", queue=webhooks_queue, retry=again)(runner.webhook_retry)
    return bp
