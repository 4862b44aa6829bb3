"""Jobs: pulls and bundles run outside any request, by an in-process runner.

A job is a row of `api_jobs` (queued -> running -> succeeded | failed). The runner claims
queued jobs with a conditional update (so several processes never run the same job), runs
at most one job per tenant and kind at a time, saves progress while it runs and its result
when it ends. Jobs survive a restart: at startup, jobs left `running` by a stopped process
are queued again (pulls are idempotent; a bundle is rebuilt from scratch).

This runner serves the embedded SQLite default. On PostgreSQL the same rows are run by
Procrastinate instead (`tracking.api.procrastinate_jobs`: `create_job` queues the row's task
in its transaction, and `serve` or `worker --queues api` processes run it).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import shutil
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine, Row

from tracking import __version__
from tracking.api.context import ApiContext
from tracking.api.models import BundleCreate, PullCreate
from tracking.api.tables import JobRecord
from tracking.core.exceptions import ConfigError, StorageError, TrackingError
from tracking.evidence.manifest import media_type
from tracking.fetch.pipeline import pull
from tracking.judge.validator import POLICIES
from tracking.store.handles import table_of
from tracking.store.storage import OrderRecord, VerdictRecord, transaction

__all__ = [
    "HEARTBEAT_SECONDS",
    "STALE_AFTER",
    "Job",
    "JobHandler",
    "JobRunner",
    "ProgressFn",
    "beat",
    "bundle_dir",
    "bundle_handler",
    "claim_jobs",
    "create_job",
    "finish_job",
    "get_job",
    "pull_handler",
    "recent_jobs",
    "requeue_interrupted",
    "save_progress",
]

J = table_of(JobRecord)
OT = table_of(OrderRecord)
V = table_of(VerdictRecord)

_log = logging.getLogger(__name__)

ProgressFn = Callable[[Mapping[str, Any]], None]
"""Reports a job's progress (any JSON object); cheap, callable from any thread."""


@dataclass(frozen=True, slots=True)
class Job:
    """A job as stored."""

    id: str
    tenant: str
    kind: str
    status: str
    params: dict[str, Any]
    progress: dict[str, Any]
    result: dict[str, Any] | None
    error: str | None
    attempts: int
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


JobHandler = Callable[[Job, ProgressFn], Awaitable[dict[str, Any]]]
"""Runs one job and returns its result (a JSON object); raises to fail it."""


def _job(row: Row[Any]) -> Job:
    return Job(
        id=row.id,
        tenant=row.tenant,
        kind=row.kind,
        status=row.status,
        params=json.loads(row.params),
        progress=json.loads(row.progress),
        result=json.loads(row.result) if row.result is not None else None,
        error=row.error,
        attempts=row.attempts,
        created_at=row.created_at,
        started_at=row.started_at,
        finished_at=row.finished_at,
    )


# -- rows ------------------------------------------------------------------------------------


def create_job(
    engine: Engine,
    *,
    tenant: str,
    kind: str,
    params: Mapping[str, Any],
    on_insert: Callable[[Connection, Job], None] | None = None,
) -> Job:
    """Queue a job for `tenant`; `on_insert` runs in the same transaction (queues its task on
    PostgreSQL: `tracking.api.procrastinate_jobs.defer_api_job`)."""
    job_id = str(uuid.uuid4())
    with transaction(engine) as connection:
        connection.execute(
            sa.insert(J),
            {
                "id": job_id,
                "tenant": tenant,
                "kind": kind,
                "status": "queued",
                "params": json.dumps(dict(params), sort_keys=True),
                "progress": "{}",
                "attempts": 0,
                "created_at": datetime.now(UTC),
            },
        )
        job = _job(connection.execute(sa.select(J).where(J.c.id == job_id)).one())
        if on_insert is not None:
            on_insert(connection, job)
    return job


def get_job(engine: Engine, *, tenant: str, kind: str, job_id: str) -> Job | None:
    """The tenant's job of this kind, or None (another tenant's job is never found)."""
    with engine.connect() as connection:
        row = connection.execute(
            sa.select(J).where(J.c.id == job_id, J.c.tenant == tenant, J.c.kind == kind)
        ).first()
    return _job(row) if row is not None else None


def recent_jobs(engine: Engine, *, tenant: str, kind: str, limit: int = 10) -> list[Job]:
    """The tenant's latest jobs of this kind, newest first (the console lists them)."""
    with engine.connect() as connection:
        rows = connection.execute(
            sa.select(J)
            .where(J.c.tenant == tenant, J.c.kind == kind)
            .order_by(J.c.created_at.desc(), J.c.id.desc())
            .limit(limit)
        )
        return [_job(row) for row in rows]


HEARTBEAT_SECONDS = 5.0
"""How often a runner stamps the jobs it is running."""

STALE_AFTER = timedelta(seconds=60)
"""A running job whose heartbeat is older than this belongs to a process that died."""


def requeue_interrupted(
    engine: Engine, *, now: datetime | None = None, stale_after: timedelta = STALE_AFTER
) -> int:
    """Queue again the jobs a dead process left running; how many there were.

    Only jobs whose heartbeat went stale: a job another live process is running keeps
    running, so any number of API processes can share the jobs table.
    """
    limit = (now or datetime.now(UTC)) - stale_after
    with transaction(engine) as connection:
        result = connection.execute(
            sa.update(J)
            .where(
                J.c.status == "running",
                sa.or_(J.c.heartbeat_at.is_(None), J.c.heartbeat_at < limit),
            )
            .values(status="queued", started_at=None, heartbeat_at=None)
        )
    return int(result.rowcount)


def beat(engine: Engine, *, job_ids: Sequence[str], now: datetime | None = None) -> None:
    """Stamp the heartbeat of jobs this process is running."""
    if not job_ids:
        return
    with transaction(engine) as connection:
        connection.execute(
            sa.update(J)
            .where(J.c.id.in_(list(job_ids)), J.c.status == "running")
            .values(heartbeat_at=now or datetime.now(UTC))
        )


def claim_jobs(
    engine: Engine, *, limit: int, kinds: set[str], now: datetime | None = None
) -> list[Job]:
    """Mark up to `limit` queued jobs as running and return them, fairly across tenants.

    A job waits while another job of the same tenant and kind runs. Slots go round-robin by
    tenant: the next job is the oldest of a tenant with the fewest jobs running, so one
    tenant's queue of large pulls never keeps another tenant's small bundle waiting.
    """
    claimed: list[Job] = []
    if limit <= 0 or not kinds:
        return claimed
    moment = now or datetime.now(UTC)
    with transaction(engine) as connection:
        running = list(
            connection.execute(sa.select(J.c.tenant, J.c.kind).where(J.c.status == "running"))
        )
        busy = {(r.tenant, r.kind) for r in running}
        load: dict[str, int] = {}
        for r in running:
            load[r.tenant] = load.get(r.tenant, 0) + 1
        # The oldest queued job of each tenant and kind: the only ones that could start now.
        heads = [
            h
            for h in connection.execute(
                sa.select(J.c.tenant, J.c.kind, sa.func.min(J.c.created_at).label("first"))
                .where(J.c.status == "queued", J.c.kind.in_(sorted(kinds)))
                .group_by(J.c.tenant, J.c.kind)
            )
            if (h.tenant, h.kind) not in busy
        ]
        candidates: list[Row[Any, Any, Any]] = []
        while heads and len(candidates) < limit * 2:
            head = min(heads, key=lambda h: (load.get(h.tenant, 0), h.first, h.tenant, h.kind))
            heads.remove(head)
            load[head.tenant] = load.get(head.tenant, 0) + 1
            first = connection.execute(
                sa.select(J.c.id, J.c.tenant, J.c.kind)
                .where(J.c.status == "queued", J.c.tenant == head.tenant, J.c.kind == head.kind)
                .order_by(J.c.created_at, J.c.id)
                .limit(1)
            ).first()
            if first is not None:
                candidates.append(first)
        for candidate in candidates:
            if (candidate.tenant, candidate.kind) in busy:
                continue
            done = connection.execute(
                sa.update(J)
                .where(J.c.id == candidate.id, J.c.status == "queued")
                .values(
                    status="running",
                    started_at=moment,
                    heartbeat_at=moment,
                    attempts=J.c.attempts + 1,
                )
            )
            if done.rowcount != 1:
                continue
            busy.add((candidate.tenant, candidate.kind))
            claimed.append(
                _job(connection.execute(sa.select(J).where(J.c.id == candidate.id)).one())
            )
            if len(claimed) >= limit:
                break
    return claimed


def save_progress(engine: Engine, *, job_id: str, progress: Mapping[str, Any]) -> None:
    """Store a running job's progress."""
    with transaction(engine) as connection:
        connection.execute(
            sa.update(J)
            .where(J.c.id == job_id, J.c.status == "running")
            .values(progress=json.dumps(dict(progress), sort_keys=True))
        )


def finish_job(
    engine: Engine,
    *,
    job_id: str,
    status: str,
    result: Mapping[str, Any] | None = None,
    error: str | None = None,
    progress: Mapping[str, Any] | None = None,
) -> Job:
    """Record how a job ended: `succeeded` with its result, `failed` with an error, or
    `queued` again (interrupted by a shutdown)."""
    values: dict[str, Any] = {"status": status}
    if status == "queued":
        values["started_at"] = None
    else:
        values["finished_at"] = datetime.now(UTC)
        values["result"] = json.dumps(dict(result), sort_keys=True) if result is not None else None
        values["error"] = error[:2048] if error else None
    if progress is not None:
        values["progress"] = json.dumps(dict(progress), sort_keys=True)
    with transaction(engine) as connection:
        connection.execute(sa.update(J).where(J.c.id == job_id).values(**values))
        row = connection.execute(sa.select(J).where(J.c.id == job_id)).one()
    return _job(row)


# -- the runner ------------------------------------------------------------------------------


class JobRunner:
    """Runs queued jobs on the current event loop (started from the app's lifespan).

    **Parameters:**

    * **engine** - the database.
    * **handlers** - a handler per job kind (`pull`, `bundle`).
    * **concurrency** - jobs run at once.
    * **poll_seconds** - how often to look for jobs queued by another process.
    * **after** - awaited with each finished job (webhook events); its errors are logged.
    * **progress_seconds** - how often a running job's progress is saved.
    """

    def __init__(
        self,
        engine: Engine,
        *,
        handlers: Mapping[str, JobHandler],
        concurrency: int = 2,
        poll_seconds: float = 2.0,
        after: Callable[[Job], Awaitable[None]] | None = None,
        progress_seconds: float = 0.5,
    ) -> None:
        self._engine = engine
        self._handlers = dict(handlers)
        self._concurrency = max(1, concurrency)
        self._poll = poll_seconds
        self._after = after
        self._progress_every = progress_seconds
        self._event = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    def wake(self) -> None:
        """Look for queued jobs now (callable from any thread)."""
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self._event.set)

    async def run(self) -> None:
        """Run jobs until cancelled; running jobs are then queued again."""
        self._loop = asyncio.get_running_loop()
        heart = asyncio.create_task(self._beat(), name="track-evidence-job-heartbeat")
        try:
            while True:
                self._event.clear()
                # Jobs of a process that died (stale heartbeat) go back to the queue.
                with contextlib.suppress(StorageError):
                    await asyncio.to_thread(requeue_interrupted, self._engine)
                free = self._concurrency - len(self._tasks)
                if free > 0:
                    try:
                        jobs = await asyncio.to_thread(
                            claim_jobs, self._engine, limit=free, kinds=set(self._handlers)
                        )
                    except StorageError as exc:
                        _log.warning("cannot claim jobs: %s", exc)
                        jobs = []
                    for job in jobs:
                        task = asyncio.create_task(self._execute(job), name=f"job-{job.id}")
                        self._tasks.add(task)
                        task.add_done_callback(self._tasks.discard)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._event.wait(), self._poll)
        finally:
            heart.cancel()
            self._loop = None
            for task in list(self._tasks):
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _beat(self) -> None:
        """Stamp the heartbeat of every job this runner is running, while it runs them."""
        while True:
            await asyncio.sleep(HEARTBEAT_SECONDS)
            running = [name.removeprefix("job-") for name in (t.get_name() for t in self._tasks)]
            with contextlib.suppress(StorageError):
                await asyncio.to_thread(beat, self._engine, job_ids=running)

    async def run_job(self, job: Job) -> None:
        """Run one job already marked running (by Procrastinate's `api_job` task on PostgreSQL)."""
        await self._execute(job)

    async def _execute(self, job: Job) -> None:
        latest: dict[str, Any] = {}
        saved: dict[str, Any] = {}

        def progress(value: Mapping[str, Any]) -> None:
            latest.clear()
            latest.update(value)

        async def keep_saving() -> None:
            while True:
                await asyncio.sleep(self._progress_every)
                snapshot = dict(latest)
                if snapshot != saved:
                    with contextlib.suppress(StorageError):
                        await asyncio.to_thread(
                            save_progress, self._engine, job_id=job.id, progress=snapshot
                        )
                    saved.clear()
                    saved.update(snapshot)

        saver = asyncio.create_task(keep_saving())
        status, result, error = "failed", None, None
        try:
            result = await self._handlers[job.kind](job, progress)
            status = "succeeded"
        except asyncio.CancelledError:
            with contextlib.suppress(TrackingError):
                finish_job(self._engine, job_id=job.id, status="queued")
            raise
        except TrackingError as exc:
            error = str(exc) or type(exc).__name__
        except Exception as exc:
            _log.exception("job %s (%s) crashed", job.id, job.kind)
            error = f"internal error ({type(exc).__name__}); the server log has the details"
        finally:
            saver.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await saver
        finished = await asyncio.to_thread(
            finish_job,
            self._engine,
            job_id=job.id,
            status=status,
            result=result,
            error=error,
            progress=dict(latest),
        )
        if self._after is not None:
            try:
                await self._after(finished)
            except Exception:
                _log.exception("after-job hook failed for job %s", job.id)
        self._event.set()


# -- handlers --------------------------------------------------------------------------------


def pull_handler(ctx: ApiContext) -> JobHandler:
    """Pull jobs: fetch and judge the tenant's stored orders in the window."""

    async def handle(job: Job, progress: ProgressFn) -> dict[str, Any]:
        params = PullCreate.model_validate(job.params)
        policy_name = params.policy or ctx.settings.policy
        policy = POLICIES.get(policy_name)
        if policy is None:
            raise ConfigError(f"unknown policy {policy_name!r}")
        carriers = dict(ctx.carriers)
        if params.carriers:
            carriers = {c: ctx.carriers[c] for c in params.carriers if c in ctx.carriers}
        counts: dict[str, dict[str, int]] = {}

        def hook(code: str, done: int, total: int) -> None:
            counts[code] = {"done": done, "total": total}
            progress({"carriers": counts})

        report = await pull(
            engine=ctx.engine,
            settings=ctx.settings,
            orders_path=None,
            carriers=carriers,
            as_of=params.as_of or job.created_at,
            window_days=params.window_days,
            policy=policy,
            tenant=job.tenant,
            sandbox=ctx.sandbox,
            sandbox_url=ctx.sandbox_url,
            progress=hook,
            fetcher_options=ctx.options.fetcher_options,
        )
        out = report.as_json()
        out.pop("errors_file", None)
        return out

    return handle


def bundle_dir(data_dir: Path, job_id: str) -> Path:
    """The folder of one bundle job's output."""
    return data_dir / "bundles" / job_id


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _files(base: Path) -> list[dict[str, Any]]:
    files = []
    for path in sorted(p for p in base.rglob("*") if p.is_file() and not p.is_symlink()):
        relative = path.relative_to(base).as_posix()
        files.append(
            {
                "path": relative,
                "size": path.stat().st_size,
                "sha256": _sha256(path),
                "media_type": media_type(relative),
            }
        )
    return files


def _count(
    engine: Engine, *, tenant: str, window: tuple[datetime, datetime], verdicts: list[str] | None
) -> tuple[int, int]:
    """(judged orders the bundle takes, orders in the window without a verdict)."""
    scope = sa.and_(
        OT.c.tenant == tenant, OT.c.order_date >= window[0], OT.c.order_date <= window[1]
    )
    judged = sa.select(sa.func.count()).select_from(OT.join(V, V.c.order_pk == OT.c.id))
    judged = judged.where(scope)
    if verdicts:
        judged = judged.where(V.c.status.in_(verdicts))
    missing = (
        sa.select(sa.func.count())
        .select_from(OT.outerjoin(V, V.c.order_pk == OT.c.id))
        .where(scope, V.c.order_pk.is_(None))
    )
    with engine.connect() as connection:
        return int(connection.execute(judged).scalar_one()), int(
            connection.execute(missing).scalar_one()
        )


def _build_bundle(ctx: ApiContext, job: Job, progress: ProgressFn) -> dict[str, Any]:
    from tracking.evidence.export import ExportRequest, export_bundle

    params = BundleCreate.model_validate(job.params)
    as_of = params.as_of or job.created_at
    window = (as_of - timedelta(days=params.window_days), as_of)
    verdicts = [str(v) for v in params.verdicts] if params.verdicts else None
    root = bundle_dir(ctx.options.data_dir, job.id)
    if root.exists():
        shutil.rmtree(root)  # a rerun after a restart starts from scratch
    root.mkdir(parents=True)
    total, skipped = _count(ctx.engine, tenant=job.tenant, window=window, verdicts=None)
    progress({"orders_total": total, "orders_done": 0})
    as_zip = params.format == "zip"
    result = export_bundle(
        ctx.engine,
        ExportRequest(
            out=root / ("bundle.zip" if as_zip else "bundle"),
            tenant=job.tenant,
            reference_id=params.reference_id,
            seller=params.seller,
            as_of=as_of,
            window_days=params.window_days,
            verdicts=tuple(verdicts or ()),
            include=tuple(params.include or ()),
            exclude=tuple(params.exclude or ()),
            as_zip=as_zip,
            signing_key=ctx.settings.signing_key,
            tool_version=__version__,
            filters={"verdict": ",".join(verdicts)} if verdicts else {},
        ),
        carriers=ctx.carriers,
        progress=lambda done: progress({"orders_total": total, "orders_done": done}),
    )
    return {
        "base": "" if as_zip else "bundle",
        "orders": result.orders,
        "orders_skipped": skipped,
        "bytes": result.bytes,
        "manifest_sha256": result.manifest_sha256,
        "signed": result.signed,
        "files": _files(root if as_zip else result.path),
    }


def bundle_handler(ctx: ApiContext) -> JobHandler:
    """Bundle jobs: render the tenant's evidence bundle under the data folder (on a thread)."""

    async def handle(job: Job, progress: ProgressFn) -> dict[str, Any]:
        return await asyncio.to_thread(_build_bundle, ctx, job, progress)

    return handle
