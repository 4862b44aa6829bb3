"""Jobs: pulls and bundles run outside any request, by an in-process runner.

A job is a row of `api_jobs` (queued -> running -> succeeded | partial | failed); a pull
in which some carriers answered nothing is `partial`, one in which none answered `failed`,
with each carrier's reason in its result (`tracking.fetch.outcome`); its reads and writes
are `tracking.store.jobs`. The runner claims
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
import logging
import shutil
from collections.abc import Awaitable, Callable, Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine

from tracking import __version__
from tracking.api.context import ApiContext
from tracking.api.models import BundleCreate, PullCreate
from tracking.api.wakeup import Wakeable
from tracking.core.exceptions import ConfigError, StorageError, TrackingError
from tracking.evidence.manifest import media_type
from tracking.fetch.outcome import explain
from tracking.fetch.pipeline import pull
from tracking.judge.validator import POLICIES
from tracking.store.jobs import (
    Job,
    beat,
    claim_jobs,
    finish_job,
    requeue_interrupted,
    save_progress,
)
from tracking.store.tenant_orders import bundle_counts

__all__ = [
    "HEARTBEAT_SECONDS",
    "JobHandler",
    "JobRunner",
    "ProgressFn",
    "bundle_dir",
    "bundle_handler",
    "pull_handler",
]

_log = logging.getLogger(__name__)

ProgressFn = Callable[[Mapping[str, Any]], None]
"""Reports a job's progress (any JSON object); cheap, callable from any thread."""


JobHandler = Callable[[Job, ProgressFn], Awaitable[dict[str, Any]]]
"""Runs one job and returns its result (a JSON object); raises to fail it."""


HEARTBEAT_SECONDS = 5.0
"""How often a runner stamps the jobs it is running."""


# -- the runner ------------------------------------------------------------------------------


class JobRunner(Wakeable):
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
        super().__init__()
        self._engine = engine
        self._handlers = dict(handlers)
        self._concurrency = max(1, concurrency)
        self._poll = poll_seconds
        self._after = after
        self._progress_every = progress_seconds
        self._tasks: set[asyncio.Task[None]] = set()

    async def run(self) -> None:
        """Run jobs until cancelled; running jobs are then queued again."""
        heart = asyncio.create_task(self._beat(), name="track-evidence-job-heartbeat")
        try:
            with self._running():
                while True:
                    # Jobs of a process that died (stale heartbeat) go back to the queue.
                    with contextlib.suppress(StorageError):
                        await asyncio.to_thread(requeue_interrupted, self._engine)
                    await self._start_claimed()
                    await self._rest(self._poll)
        finally:
            heart.cancel()
            for task in list(self._tasks):
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _start_claimed(self) -> None:
        """Claim as many queued jobs as there are free slots and start each as a task."""
        free = self._concurrency - len(self._tasks)
        if free <= 0:
            return
        try:
            jobs = await asyncio.to_thread(
                claim_jobs, self._engine, limit=free, kinds=set(self._handlers)
            )
        except StorageError as exc:
            _log.warning("cannot claim jobs: %s", exc)
            return
        for job in jobs:
            task = asyncio.create_task(self._execute(job), name=f"job-{job.id}")
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

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
            status, error = _ended(result)
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


def _ended(result: Mapping[str, Any]) -> tuple[str, str | None]:
    """(status, error) of a job whose handler returned `result`: a pull whose carriers did not
    answer is `partial` or `failed`, never `succeeded`."""
    ended = result.get("outcome")
    if ended not in ("partial", "failed"):
        return "succeeded", None
    reasons = "; ".join(f"{code}: {why}" for code, why in sorted(result["reasons"].items()))
    return str(ended), (f"no carrier answered: {reasons}" if ended == "failed" else None)


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
            network=ctx.network,
            progress=hook,
            fetcher_options=ctx.options.fetcher_options,
        )
        out = report.as_json()
        out.pop("errors_file", None)
        in_sandbox = ctx.network is not None
        out["reasons"] = explain(
            report, settings=ctx.settings, carriers=carriers, sandbox=in_sandbox
        )
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
    total, skipped = bundle_counts(ctx.engine, tenant=job.tenant, window=window)
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
