"""Distributed workers on Procrastinate (PostgreSQL-backed jobs): pull, refresh, export.

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
import functools
import json
import logging
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from carriers.base import CarrierInfo
from carriers.kit.network import Network
from tracking.core.config import Settings
from tracking.core.exceptions import ConfigError
from tracking.fetch.limits import SharedLimits, libpq_url
from tracking.store.engine import open_engine, transaction
from tracking.store.handles import table_of
from tracking.store.shipments import DueShipment
from tracking.store.tables import OrderRecord, RunRecord, ShipmentRecord
from tracking.store.verdicts import recompute_verdicts

__all__ = [
    "QUEUES",
    "WorkerConfig",
    "claim_and_defer",
    "claim_due",
    "defer",
    "ensure_job_schema",
    "make_app",
    "require_postgres",
    "run_worker",
]

log = logging.getLogger("tracking.workers.blueprint")

NAMESPACE = "track_evidence"
QUEUES = ("pull", "refresh", "export")
"""The queues a worker serves by default."""

S = table_of(ShipmentRecord)
OT = table_of(OrderRecord)
RT = table_of(RunRecord)


@dataclass(frozen=True)
class WorkerConfig:
    """How a worker process runs; every field has a production default.

    * **batch_shipments** - shipments per `refresh_batch` job (several carrier requests).
    * **lease** - how long a claim lasts: a claimed shipment whose job is lost is due again
      after it (jobs of crashed workers are retried long before).
    * **heartbeat_seconds** - worker heartbeat interval; a worker silent for
      `stalled_after` seconds is taken for dead and its jobs are retried.
    * **stalled_check_cron** - when `retry_stalled` runs (Procrastinate cron; 6th field: seconds).
    """

    database_url: str
    network: Network | None = None
    """Where jobs fetch from (`worker --sandbox-url`: a running sandbox); the real APIs if None."""
    redis_url: str | None = None
    limit_prefix: str = ""
    refresh_cron: str | None = "*/15 * * * *"
    refresh_limit: int | None = None
    batch_shipments: int = 200
    lease: timedelta = timedelta(hours=1)
    heartbeat_seconds: float = 10.0
    stalled_after: float = 30.0
    stalled_check_cron: str = "* * * * * */15"
    concurrency: int = 4
    queues: tuple[str, ...] = QUEUES


@dataclass
class _Runtime:
    """What the tasks of one worker process share."""

    config: WorkerConfig
    settings: Settings
    engine: Engine
    carriers: Mapping[str, CarrierInfo]
    limits: SharedLimits
    app: Any
    stats: dict[str, int] = field(default_factory=dict)


_runtime: _Runtime | None = None


def _rt() -> _Runtime:
    if _runtime is None:
        raise RuntimeError("track-evidence worker tasks run inside `run_worker` only")
    return _runtime


def require_postgres(url: str) -> None:
    """Raise `ConfigError` (one clear line) unless `url` is a PostgreSQL URL."""
    if not url.startswith("postgresql"):
        raise ConfigError(
            "workers need PostgreSQL (their jobs live there): set TRACK_EVIDENCE_DATABASE_URL "
            "or --db to postgresql+psycopg://user@host/db; SQLite serves `refresh` and `serve`"
        )


# -- claiming due shipments ------------------------------------------------------------------


def claim_due(
    engine: Engine,
    *,
    carrier: str,
    now: datetime,
    claimed_until: datetime,
    limit: int,
) -> list[DueShipment]:
    """Claim up to `limit` due shipments of `carrier`: their `next_poll_at` becomes the lease.

    Never-polled shipments come first (partial index `ix_shipments_new`), then the most
    overdue (`ix_shipments_due`). On PostgreSQL the rows are taken `FOR UPDATE SKIP LOCKED`,
    so concurrent claimers never share a shipment.

    Kept apart from `repository.claim_due_shipments` (`refresh`'s one `UPDATE ... RETURNING`
    over all carriers): for one carrier that statement reaches both indexes only as a bitmap
    of every due row, sorted per claim - 51 ms against 15 ms here per 200-row claim with
    129,000 of 200,000 shipments due - while these two queries walk the indexes in order and
    stop at the limit.
    """
    with transaction(engine) as connection:
        return _claim(
            connection, carrier=carrier, now=now, claimed_until=claimed_until, limit=limit
        )


def _claim(
    connection: Connection,
    *,
    carrier: str,
    now: datetime,
    claimed_until: datetime,
    limit: int,
) -> list[DueShipment]:
    """`claim_due` inside the caller's transaction."""
    postgres = connection.dialect.name == "postgresql"
    picked: list[DueShipment] = []
    queries = [
        sa.select(S.c.id, S.c.carrier, S.c.tracking_number, S.c.tenant)
        .where(S.c.carrier == carrier, S.c.state == "new", S.c.next_poll_at.is_(None))
        .order_by(S.c.id),
        sa.select(S.c.id, S.c.carrier, S.c.tracking_number, S.c.tenant)
        .where(S.c.carrier == carrier, S.c.next_poll_at <= now)
        .order_by(S.c.next_poll_at),
    ]
    for query in queries:
        room = limit - len(picked)
        if room <= 0:
            break
        query = query.limit(room)
        if postgres:
            query = query.with_for_update(skip_locked=True)
        picked.extend(DueShipment(*row) for row in connection.execute(query))
    ids = [s.id for s in picked]
    for start in range(0, len(ids), 1000):
        connection.execute(
            sa.update(S)
            .where(S.c.id.in_(ids[start : start + 1000]))
            .values(next_poll_at=claimed_until)
        )
    return picked


PLAN_IDLE_TIMEOUT = "60s"
"""A planner silent this long inside its claim transaction is cut off (the claim undone)."""


def claim_and_defer(
    engine: Engine,
    *,
    carrier: str,
    now: datetime,
    claimed_until: datetime,
    limit: int,
) -> list[DueShipment]:
    """Claim one slice of `carrier`'s due shipments and queue its `refresh_batch` job, atomically.

    Both happen in one PostgreSQL transaction: the job row commits with the claim or neither
    does, so a planner that dies in between strands nothing.
    """
    with transaction(engine) as connection:
        connection.exec_driver_sql(
            f"SET LOCAL idle_in_transaction_session_timeout = '{PLAN_IDLE_TIMEOUT}'"
        )
        claimed = _claim(
            connection, carrier=carrier, now=now, claimed_until=claimed_until, limit=limit
        )
        if claimed:
            _defer_batch(
                connection,
                carrier=carrier,
                shipment_ids=[s.id for s in claimed],
                claimed_until=claimed_until,
            )
    return claimed


@functools.cache
def _job_writer() -> Any:
    """A Procrastinate app that only inserts jobs on connections it is given (never opened)."""
    import procrastinate

    return procrastinate.App(connector=procrastinate.SyncPsycopgConnector())


def _defer_batch(
    connection: Connection, *, carrier: str, shipment_ids: list[int], claimed_until: datetime
) -> int:
    """Insert one `refresh_batch` job in `connection`'s transaction; it commits with it."""
    job_id: int = (
        _job_writer()
        .configure_task(
            f"{NAMESPACE}:refresh_batch",
            queue="refresh",
            connection=connection.connection.driver_connection,
        )
        .defer(carrier=carrier, shipment_ids=shipment_ids, claimed_until=claimed_until.isoformat())
    )
    return job_id


def _still_claimed(
    engine: Engine, *, shipment_ids: Sequence[int], claimed_until: datetime
) -> list[DueShipment]:
    with engine.connect() as connection:
        rows = connection.execute(
            sa.select(S.c.id, S.c.carrier, S.c.tracking_number, S.c.tenant)
            .where(
                S.c.id.in_(list(shipment_ids)),
                S.c.next_poll_at.is_not(None),
                S.c.next_poll_at <= claimed_until,
            )
            .order_by(S.c.id)
        )
        return [DueShipment(*row) for row in rows]


def _record_run(
    engine: Engine, *, run_id: str, stats: Mapping[str, Any], started: datetime
) -> None:
    with transaction(engine) as connection:
        connection.execute(
            sa.insert(RT),
            {
                "id": run_id,
                "kind": "refresh",
                "source": "worker",
                "started_at": started,
                "finished_at": datetime.now(UTC),
                "status": "done",
                "stats": json.dumps(dict(stats), sort_keys=True),
            },
        )


# -- the work of the tasks -------------------------------------------------------------------


async def _poll(rt: _Runtime, *, carrier: str, shipments: Sequence[DueShipment]) -> dict[str, int]:
    """Poll `shipments` of one carrier under the shared limit, store, re-judge their orders."""
    from tracking.fetch.pipeline import (
        LAST_MILE_TRACKER,
        fetch_and_store,
        open_fetcher,
        orders_touching,
    )
    from tracking.judge.policies import resolve_policy

    counts = {"due": len(shipments), "fetched": 0, "not_found": 0, "failed": 0, "events_new": 0}
    if not shipments or carrier not in rt.carriers:
        return counts
    started = datetime.now(UTC)
    run_id = str(uuid.uuid4())
    async with open_fetcher(
        settings=rt.settings,
        carriers={carrier: rt.carriers[carrier]},
        network=rt.config.network,
        limiter_factory=rt.limits.factory(),
    ) as fetcher:
        if carrier not in fetcher.codes:
            return counts
        # Legs revealed by this carrier go to the last-mile tracker, fetched or not in this job.
        fetcher.leg_carrier = LAST_MILE_TRACKER if LAST_MILE_TRACKER in rt.carriers else ""
        report = await fetch_and_store(rt.engine, fetcher=fetcher, due=shipments, run_id=run_id)
    counts.update(
        fetched=report.shipments_fetched,
        not_found=report.shipments_not_found,
        failed=report.shipments_failed,
        events_new=report.events_new,
        requests=report.requests,
    )
    policy = resolve_policy(rt.settings.policy, settings=rt.settings)
    touched = await asyncio.to_thread(
        orders_touching, rt.engine, shipment_ids=[s.id for s in shipments]
    )
    now = datetime.now(UTC)
    for start in range(0, len(touched), 1000):
        await asyncio.to_thread(
            recompute_verdicts,
            rt.engine,
            order_ids=touched[start : start + 1000],
            as_of=now,
            policy=policy,
            now=now,
        )
    await asyncio.to_thread(_record_run, rt.engine, run_id=run_id, stats=counts, started=started)
    return counts


async def plan_refresh(*, limit: int | None = None) -> dict[str, int]:
    """Claim every carrier's due shipments (at most `limit` in all) and defer their batches.

    Each slice is claimed and its batch queued in one transaction (`claim_and_defer`).
    """
    rt = _rt()
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
                claim_and_defer,
                rt.engine,
                carrier=code,
                now=now,
                claimed_until=claimed_until,
                limit=take,
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
    *, carrier: str, shipment_ids: list[int], claimed_until: str
) -> dict[str, int]:
    """Poll the shipments of this claim that are not polled yet."""
    rt = _rt()
    until = datetime.fromisoformat(claimed_until)
    pending = await asyncio.to_thread(
        _still_claimed, rt.engine, shipment_ids=shipment_ids, claimed_until=until
    )
    return await _poll(rt, carrier=carrier, shipments=pending)


async def refresh_shipment(*, shipment_id: int) -> dict[str, int]:
    """Poll one shipment now, whatever its `next_poll_at`."""
    rt = _rt()

    def load(engine: Engine) -> list[DueShipment]:
        with engine.connect() as connection:
            rows = connection.execute(
                sa.select(S.c.id, S.c.carrier, S.c.tracking_number, S.c.tenant).where(
                    S.c.id == shipment_id
                )
            )
            return [DueShipment(*row) for row in rows]

    found = await asyncio.to_thread(load, rt.engine)
    if not found:
        return {"due": 0}
    return await _poll(rt, carrier=found[0].carrier, shipments=found)


async def pull(
    *,
    orders_path: str | None,
    tenant: str = "default",
    as_of: str | None = None,
    window_days: int | None = None,
) -> dict[str, Any]:
    """`track-evidence pull` as a job: read the orders file (or the tenant's stored orders)."""
    from tracking.fetch.pipeline import pull as run_pull
    from tracking.judge.policies import resolve_policy

    rt = _rt()
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
        fetcher_options={"limiter_factory": rt.limits.factory()},
    )
    return report.as_json()


async def export(
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

    rt = _rt()
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
    return {
        "path": str(result.path),
        "orders": result.orders,
        "files": result.files,
        "bytes": result.bytes,
        "manifest_sha256": result.manifest_sha256,
        "signed": result.signed,
    }


async def retry_stalled() -> int:
    """Retry the jobs of workers that stopped sending heartbeats (crashed, killed)."""
    rt = _rt()
    manager = rt.app.job_manager
    stalled = await manager.get_stalled_jobs(seconds_since_heartbeat=rt.config.stalled_after)
    count = 0
    for job in stalled:
        log.warning("retrying stalled job %s (%s)", job.id, job.task_name)
        await manager.retry_job(job)
        count += 1
    return count


# -- the Procrastinate app -------------------------------------------------------------------


def make_app(config: WorkerConfig) -> Any:
    """The Procrastinate app on `config.database_url`, with every task registered."""
    import procrastinate

    require_postgres(config.database_url)
    app = procrastinate.App(
        connector=procrastinate.PsycopgConnector(
            conninfo=libpq_url(config.database_url), min_size=1, max_size=4
        )
    )
    app.task(name=f"{NAMESPACE}:plan_refresh", queue="refresh", lock="plan_refresh")(plan_refresh)
    app.task(name=f"{NAMESPACE}:refresh_batch", queue="refresh")(refresh_batch)
    app.task(name=f"{NAMESPACE}:refresh_shipment", queue="refresh")(refresh_shipment)
    app.task(name=f"{NAMESPACE}:pull", queue="pull")(pull)
    app.task(name=f"{NAMESPACE}:export", queue="export")(export)

    async def refresh_tick(timestamp: int) -> dict[str, int]:
        """The periodic refresh: Procrastinate defers it once per tick for all workers."""
        return await plan_refresh(limit=config.refresh_limit)

    async def retry_stalled_tick(timestamp: int) -> int:
        return await retry_stalled()

    if config.refresh_cron:
        tick = app.task(name=f"{NAMESPACE}:refresh_tick", queue="refresh", lock="plan_refresh")(
            refresh_tick
        )
        app.periodic(cron=config.refresh_cron, periodic_id="refresh")(tick)
    stalled = app.task(name=f"{NAMESPACE}:retry_stalled", queue="refresh")(retry_stalled_tick)
    app.periodic(cron=config.stalled_check_cron, periodic_id="stalled")(stalled)
    return app


async def ensure_job_schema(app: Any, *, database_url: str) -> None:
    """Apply Procrastinate's own schema once (its schema manager, not Alembic).

    Concurrent first starts serialize on an advisory lock; later starts only look.
    """
    import psycopg

    present = "SELECT to_regclass('procrastinate_jobs') IS NOT NULL AS present"
    if (await app.connector.execute_query_one_async(present))["present"]:
        return
    async with await psycopg.AsyncConnection.connect(
        libpq_url(database_url), autocommit=True
    ) as connection:
        await connection.execute("SELECT pg_advisory_lock(%s)", (_SCHEMA_LOCK,))
        try:
            if not (await app.connector.execute_query_one_async(present))["present"]:
                await app.schema_manager.apply_schema_async()
        finally:
            await connection.execute("SELECT pg_advisory_unlock(%s)", (_SCHEMA_LOCK,))


_SCHEMA_LOCK = 7_304_611
"""Advisory lock key held while the Procrastinate schema is applied."""


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
        await ensure_job_schema(app, database_url=database_url)
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

    global _runtime
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
            await ensure_job_schema(app, database_url=config.database_url)
            _runtime = _Runtime(
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
            )
    finally:
        _runtime = None
        await limits.aclose()
        engine.dispose()
