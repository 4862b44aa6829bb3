"""`worker`: run pull, refresh and export jobs from the PostgreSQL queue (Procrastinate)."""

from __future__ import annotations

import asyncio
import contextlib
import os
from typing import Annotated

import typer

from carriers.registry import all_carriers
from tracking.cli.common import errors, settings
from tracking.cli.serve import choose_network
from tracking.core.exceptions import ConfigError
from tracking.workers.blueprint import QUEUES, WorkerConfig, require_postgres, run_worker

__all__ = ["worker_command"]


def _valid_cron(expression: str) -> bool:
    """Whether Procrastinate's cron parser takes `expression` (5 fields, or 6 with seconds)."""
    import croniter  # type: ignore[import-untyped]

    return bool(croniter.croniter.is_valid(expression))


def worker_command(
    concurrency: Annotated[int, typer.Option(min=1, metavar="N", help="Jobs run at once.")] = 4,
    queues: Annotated[
        str,
        typer.Option(
            metavar="Q,...",
            help="Comma-separated queues to serve (pull, refresh, export; also api, webhooks).",
        ),
    ] = ",".join(QUEUES),
    refresh_minutes: Annotated[
        int,
        typer.Option(min=0, max=59, metavar="N", help="Plan a refresh every N minutes (0: never)."),
    ] = 15,
    sandbox_url: Annotated[
        str | None,
        typer.Option(metavar="URL", help="Poll a running sandbox instead of the carriers."),
    ] = None,
    redis_url: Annotated[
        str | None,
        typer.Option(
            envvar="TRACK_EVIDENCE_REDIS_URL",
            metavar="URL",
            help="Share rate limits in Redis (default: in PostgreSQL).",
        ),
    ] = None,
    refresh_cron: Annotated[
        str | None,
        typer.Option(
            hidden=True,
            help="Refresh on this Procrastinate cron instead (6th field: seconds); tests.",
        ),
    ] = None,
    batch: Annotated[
        int, typer.Option(min=1, metavar="N", help="Shipments per refresh job.")
    ] = 200,
    heartbeat_seconds: Annotated[
        float,
        typer.Option(
            min=0.1,
            metavar="SECONDS",
            help="Heartbeat interval; silent 3x as long = dead, jobs retried.",
        ),
    ] = 10.0,
) -> None:
    """Run jobs (pull, refresh, export) from the PostgreSQL queue; start as many as you like."""
    with errors():
        current = settings()
        require_postgres(current.database_url)
        if refresh_cron is not None and not _valid_cron(refresh_cron):
            raise ConfigError(f"--refresh-cron {refresh_cron!r} is not a valid cron schedule")
        stalled = heartbeat_seconds * 3
        check = max(1, min(59, round(stalled / 2)))
        config = WorkerConfig(
            database_url=current.database_url,
            network=choose_network(all_carriers(), current, sandbox=False, sandbox_url=sandbox_url),
            redis_url=redis_url,
            limit_prefix=os.environ.get("TRACK_EVIDENCE_LIMIT_PREFIX", ""),
            refresh_cron=refresh_cron
            or (f"*/{refresh_minutes} * * * *" if refresh_minutes else None),
            batch_shipments=batch,
            heartbeat_seconds=heartbeat_seconds,
            stalled_after=stalled,
            stalled_check_cron=f"* * * * * */{check}",
            concurrency=concurrency,
            queues=tuple(q.strip() for q in queues.split(",") if q.strip()),
        )
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(run_worker(config, settings=current))
