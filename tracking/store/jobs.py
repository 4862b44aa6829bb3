"""Jobs: pulls and bundles the API runs outside any request, as rows of `api_jobs`.

A job goes queued -> running -> succeeded | failed. `claim_jobs` marks queued jobs running
with a conditional update (several processes never run the same job), fairly across tenants;
a running job's heartbeat (`beat`) tells a live runner from a dead one (`requeue_interrupted`).
The in-process runner is `tracking.api.jobs.JobRunner`; on PostgreSQL, Procrastinate runs the
same rows (`tracking.api.procrastinate_jobs`, with `start_job` and `jobs_ahead` here).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine, Row

from tracking.core.fields import from_fields
from tracking.store.engine import transaction
from tracking.store.tables import JOBS

__all__ = [
    "STALE_AFTER",
    "Job",
    "active_jobs",
    "beat",
    "claim_jobs",
    "create_job",
    "finish_job",
    "get_job",
    "job_row",
    "jobs_ahead",
    "recent_jobs",
    "requeue_interrupted",
    "save_progress",
    "start_job",
]

STALE_AFTER = timedelta(seconds=60)
"""A running job whose heartbeat is older than this belongs to a process that died."""


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


def _job(row: Row[Any]) -> Job:
    return from_fields(
        Job,
        row,
        params=json.loads(row.params),
        progress=json.loads(row.progress),
        result=json.loads(row.result) if row.result is not None else None,
    )


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
            sa.insert(JOBS),
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
        job = job_row(connection, job_id)
        if on_insert is not None:
            on_insert(connection, job)
    return job


def get_job(engine: Engine, *, tenant: str, kind: str, job_id: str) -> Job | None:
    """The tenant's job of this kind, or None (another tenant's job is never found)."""
    with engine.connect() as connection:
        row = connection.execute(
            sa.select(JOBS).where(JOBS.c.id == job_id, JOBS.c.tenant == tenant, JOBS.c.kind == kind)
        ).first()
    return _job(row) if row is not None else None


def recent_jobs(engine: Engine, *, tenant: str, kind: str, limit: int = 10) -> list[Job]:
    """The tenant's latest jobs of this kind, newest first (the console lists them)."""
    with engine.connect() as connection:
        rows = connection.execute(
            sa.select(JOBS)
            .where(JOBS.c.tenant == tenant, JOBS.c.kind == kind)
            .order_by(JOBS.c.created_at.desc(), JOBS.c.id.desc())
            .limit(limit)
        )
        return [_job(row) for row in rows]


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
            sa.update(JOBS)
            .where(
                JOBS.c.status == "running",
                sa.or_(JOBS.c.heartbeat_at.is_(None), JOBS.c.heartbeat_at < limit),
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
            sa.update(JOBS)
            .where(JOBS.c.id.in_(list(job_ids)), JOBS.c.status == "running")
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
            connection.execute(
                sa.select(JOBS.c.tenant, JOBS.c.kind).where(JOBS.c.status == "running")
            )
        )
        busy = {(r.tenant, r.kind) for r in running}
        load: dict[str, int] = {}
        for r in running:
            load[r.tenant] = load.get(r.tenant, 0) + 1
        # The oldest queued job of each tenant and kind: the only ones that could start now.
        heads = [
            h
            for h in connection.execute(
                sa.select(JOBS.c.tenant, JOBS.c.kind, sa.func.min(JOBS.c.created_at).label("first"))
                .where(JOBS.c.status == "queued", JOBS.c.kind.in_(sorted(kinds)))
                .group_by(JOBS.c.tenant, JOBS.c.kind)
            )
            if (h.tenant, h.kind) not in busy
        ]
        candidates: list[Row[Any, Any, Any]] = []
        while heads and len(candidates) < limit * 2:
            head = min(heads, key=lambda h: (load.get(h.tenant, 0), h.first, h.tenant, h.kind))
            heads.remove(head)
            load[head.tenant] = load.get(head.tenant, 0) + 1
            first = connection.execute(
                sa.select(JOBS.c.id, JOBS.c.tenant, JOBS.c.kind)
                .where(
                    JOBS.c.status == "queued",
                    JOBS.c.tenant == head.tenant,
                    JOBS.c.kind == head.kind,
                )
                .order_by(JOBS.c.created_at, JOBS.c.id)
                .limit(1)
            ).first()
            if first is not None:
                candidates.append(first)
        for candidate in candidates:
            if (candidate.tenant, candidate.kind) in busy:
                continue
            if not _mark_running(connection, moment, candidate.id, ("queued",)):
                continue
            busy.add((candidate.tenant, candidate.kind))
            claimed.append(job_row(connection, candidate.id))
            if len(claimed) >= limit:
                break
    return claimed


def _mark_running(
    connection: Connection, moment: datetime, job_id: str, statuses: tuple[str, ...]
) -> bool:
    """Start a job found in one of `statuses` (one more attempt, its heartbeat now); False
    when it is in none of them (another process took it, or it ended)."""
    done = connection.execute(
        sa.update(JOBS)
        .where(JOBS.c.id == job_id, JOBS.c.status.in_(statuses))
        .values(
            status="running", started_at=moment, heartbeat_at=moment, attempts=JOBS.c.attempts + 1
        )
    )
    return bool(done.rowcount == 1)


def save_progress(engine: Engine, *, job_id: str, progress: Mapping[str, Any]) -> None:
    """Store a running job's progress."""
    with transaction(engine) as connection:
        connection.execute(
            sa.update(JOBS)
            .where(JOBS.c.id == job_id, JOBS.c.status == "running")
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
        connection.execute(sa.update(JOBS).where(JOBS.c.id == job_id).values(**values))
        return job_row(connection, job_id)


def job_row(connection: Connection, job_id: str) -> Job:
    """A job as stored now, read on the caller's connection."""
    return _job(connection.execute(sa.select(JOBS).where(JOBS.c.id == job_id)).one())


def active_jobs(engine: Engine, *, tenant: str) -> int:
    """How many jobs of the tenant are queued or running."""
    with engine.connect() as connection:
        return int(
            connection.execute(
                sa.select(sa.func.count())
                .select_from(JOBS)
                .where(JOBS.c.tenant == tenant, JOBS.c.status.in_(("queued", "running")))
            ).scalar_one()
        )


def jobs_ahead(connection: Connection, job: Job) -> int:
    """How many other jobs of the job's tenant are queued or running (its fair priority)."""
    return int(
        connection.execute(
            sa.select(sa.func.count()).where(
                JOBS.c.tenant == job.tenant,
                JOBS.c.status.in_(("queued", "running")),
                JOBS.c.id != job.id,
            )
        ).scalar_one()
    )


def start_job(engine: Engine, *, job_id: str, now: datetime | None = None) -> Job | None:
    """Mark a job row running for its Procrastinate task; None when it already ended.

    A row left `running` is taken over: its task is only run again when the worker that ran
    it died (Procrastinate's lock keeps a job's task from running twice at once).
    """
    moment = now or datetime.now(UTC)
    with transaction(engine) as connection:
        if not _mark_running(connection, moment, job_id, ("queued", "running")):
            return None
        return job_row(connection, job_id)
