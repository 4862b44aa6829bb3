"""What the API's routes, job runner and webhook dispatcher share: options and live state."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy.engine import Connection, Engine

from carriers.base import CarrierInfo
from carriers.kit.network import Network
from tracking.core.config import Settings

__all__ = ["RETRY_SCHEDULE", "ApiContext", "ApiOptions"]

RETRY_SCHEDULE: tuple[timedelta, ...] = (
    timedelta(minutes=1),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=6),
    timedelta(hours=12),
    timedelta(hours=24),
)
"""Waits between webhook attempts: 8 attempts spread over 44 h 36 min."""


@dataclass(frozen=True, slots=True)
class ApiOptions:
    """How the API runs (defaults suit `track-evidence serve`).

    **Parameters:**

    * **data_dir** - where bundles are written (`<data_dir>/bundles/<id>/`).
    * **run_jobs** - run queued pulls and bundles in this process (off: only enqueue them,
      for a deployment where separate workers run the jobs).
    * **job_concurrency** - jobs run at once (at most one per tenant and kind).
    * **job_poll_seconds** - how often the runner looks for jobs queued by another process.
    * **deliver_webhooks** - send webhook deliveries from this process.
    * **webhook_schedule** - waits between delivery attempts (the first is immediate).
    * **webhook_timeout_seconds** - time allowed to a receiver for one attempt.
    * **webhook_poll_seconds** - how often due deliveries and verdict changes are looked for.
    * **webhook_transport** - the HTTP transport of webhook deliveries (tests inject one).
    * **carriers** - the carriers pulls may use; every registered carrier by default.
    * **fetcher_options** - passed to the pull's fetcher (rate overrides, timeouts...).
    * **max_upload_bytes** - the largest orders upload accepted.
    * **max_json_bytes** - the largest body of any other request.
    * **heartbeat_seconds** - on PostgreSQL: how often this process's Procrastinate worker
      says it is alive; silent for `stalled_after_seconds`, its jobs are run again elsewhere.
    """

    data_dir: Path = Path("track-evidence-data")
    run_jobs: bool = True
    job_concurrency: int = 2
    job_poll_seconds: float = 2.0
    deliver_webhooks: bool = True
    webhook_schedule: tuple[timedelta, ...] = RETRY_SCHEDULE
    webhook_timeout_seconds: float = 10.0
    webhook_poll_seconds: float = 2.0
    webhook_transport: httpx.AsyncBaseTransport | None = None
    carriers: Mapping[str, CarrierInfo] | None = None
    fetcher_options: Mapping[str, Any] = field(default_factory=dict)
    max_upload_bytes: int = 50 * 1024 * 1024
    max_json_bytes: int = 1024 * 1024
    heartbeat_seconds: float = 10.0
    stalled_after_seconds: float = 30.0


@dataclass(slots=True)
class ApiContext:
    """The live state of one app: engine, settings, options and the background workers."""

    engine: Engine
    settings: Settings
    options: ApiOptions
    carriers: Mapping[str, CarrierInfo]
    network: Network | None = None  # where pulls fetch from: a sandbox's; the real APIs if None
    wake_jobs: Callable[[], None] | None = None  # set by the job runner (thread-safe)
    wake_webhooks: Callable[[], None] | None = None  # set by the dispatcher (thread-safe)
    # On PostgreSQL: queues a new job row's Procrastinate task, in the row's transaction.
    defer_job: Callable[[Connection, Any], None] | None = None

    def jobs_changed(self) -> None:
        """Tell the job runner (if any) that a job was queued."""
        if self.wake_jobs is not None:
            self.wake_jobs()

    def webhooks_changed(self) -> None:
        """Tell the webhook dispatcher (if any) that a delivery is due."""
        if self.wake_webhooks is not None:
            self.wake_webhooks()
