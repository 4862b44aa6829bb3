"""What the tasks of one worker process share: its configuration, engine, carriers and limits.

`run_worker` builds one `Runtime` and hands it to every job through Procrastinate's job
context (`additional_context`), where `runtime_of` finds it; nothing is global.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy.engine import Connection, Engine

from carriers.base import CarrierInfo
from carriers.kit.network import Network
from tracking.core.config import Settings
from tracking.core.exceptions import ConfigError
from tracking.fetch.limits import SharedLimits

__all__ = [
    "NAMESPACE",
    "QUEUES",
    "RUNTIME_KEY",
    "Runtime",
    "WorkerConfig",
    "defer_on",
    "require_postgres",
    "runtime_of",
]

NAMESPACE = "track_evidence"
"""Every task's name is `track_evidence:<task>` (the Blueprint's namespace on the App)."""

QUEUES = ("pull", "refresh", "export")
"""The queues a worker serves by default."""

RUNTIME_KEY = "track_evidence"
"""The key of the `Runtime` in a job's `additional_context`."""


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
class Runtime:
    """What the tasks of one worker process share."""

    config: WorkerConfig
    settings: Settings
    engine: Engine
    carriers: Mapping[str, CarrierInfo]
    limits: SharedLimits | None
    app: Any
    stats: dict[str, int] = field(default_factory=dict)


def runtime_of(context: Any) -> Runtime:
    """The `Runtime` of the worker running a job (its Procrastinate `JobContext`)."""
    runtime = context.additional_context.get(RUNTIME_KEY)
    if not isinstance(runtime, Runtime):
        raise RuntimeError("track-evidence worker tasks run inside `run_worker` only")
    return runtime


def require_postgres(url: str) -> None:
    """Raise `ConfigError` (one clear line) unless `url` is a PostgreSQL URL."""
    if not url.startswith("postgresql"):
        raise ConfigError(
            "workers need PostgreSQL (their jobs live there): set TRACK_EVIDENCE_DATABASE_URL "
            "or --db to postgresql+psycopg://user@host/db; SQLite serves `refresh` and `serve`"
        )


@functools.cache
def _job_writer() -> Any:
    """A Procrastinate app that only inserts jobs on connections it is given (never opened)."""
    import procrastinate

    return procrastinate.App(connector=procrastinate.SyncPsycopgConnector())


def defer_on(connection: Connection, task: str, *, args: Mapping[str, Any], **options: Any) -> int:
    """Insert one job of `task` on `connection`: it commits (or not) with the caller's
    transaction, so a row and the job that works on it exist together or not at all.

    `task` is the full name (`track_evidence:<task>`); `options` are Procrastinate's
    `configure_task` options (queue, lock, priority, schedule_at...). Returns the job id.
    """
    job_id: int = (
        _job_writer()
        .configure_task(task, connection=connection.connection.driver_connection, **options)
        .defer(**args)
    )
    return job_id
